import { afterAll } from 'vitest';
import { shutdown } from '../src/index.js';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
afterAll(shutdown);
