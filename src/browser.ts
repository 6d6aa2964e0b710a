// resnext-webgpu in a page: the core API on the browser's navigator.gpu. The tuning cache
// lives in memory; runtime().tuning.attach(name) keeps it in localStorage under `name`.
// Importing it acquires the device (top-level await), so ops can run
// synchronously; without WebGPU the import rejects with a NoAdapterError that says what to
// enable (import it dynamically to show that message instead of a blank page).
import { init } from './runtime/index.js';

await init();

export * from './core.js';
