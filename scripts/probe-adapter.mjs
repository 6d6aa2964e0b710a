// Exits 0 when Dawn finds a WebGPU adapter and prints what it is; exits 1 otherwise.
// Plain JavaScript so the setup script can run it before TypeScript tooling is involved.
import { create, globals } from 'webgpu';

const quiet = process.argv.includes('--quiet');
Object.assign(globalThis, globals);
let gpu = create([]);
const adapter = await gpu.requestAdapter().catch(() => null);
if (adapter && !quiet) {
  const info = adapter.info ?? {};
  console.log(`WebGPU adapter: ${info.description || info.device || 'unknown'} (${info.vendor || '?'}, ${info.architecture || '?'})`);
}
gpu = null;
process.exit(adapter ? 0 : 1);
