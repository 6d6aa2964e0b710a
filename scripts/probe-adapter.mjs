// Exits 0 when Dawn finds a WebGPU adapter and prints what it is; exits 1 otherwise.
// Plain JavaScript so the setup script can run it before TypeScript tooling is involved.
// --json prints the adapter's name and subgroup sizes as JSON (scripts/test-adapters.mjs).
import { create, globals } from 'webgpu';

const quiet = process.argv.includes('--quiet');
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter().catch(() => null);
if (adapter && process.argv.includes('--json')) {
  const info = adapter.info ?? {};
  const subgroups = adapter.features.has('subgroups')
    ? { min: info.subgroupMinSize ?? null, max: info.subgroupMaxSize ?? null }
    : null;
  console.log(
    JSON.stringify({ name: info.description || info.device || 'unknown', vendor: info.vendor || '?', subgroups }),
  );
} else if (adapter && !quiet) {
  const info = adapter.info ?? {};
  console.log(
    `WebGPU adapter: ${info.description || info.device || 'unknown'} (${info.vendor || '?'}, ${info.architecture || '?'})`,
  );
}
process.exit(adapter ? 0 : 1);
