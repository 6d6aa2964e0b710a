// The WGSL sources the runtime compiles: embedded at build time (kernels.generated.ts,
// made by scripts/embed-kernels.mjs), so no file system is needed, with a digest of each
// that keys tuning choices to one version of a kernel (and of its contract). Tests may swap a source in.
import { contractOf, expandContract } from './contracts.js';
import { KERNELS } from './kernels.generated.js';

export class KernelLibrary {
  private readonly replaced = new Map<string, { source: string; digest: string }>();
  /** Digests with their contract folded in, by kernel: tuning keys ask for them at every
   *  convolution, so they are hashed once per source and contract. */
  private readonly digests = new Map<string, { declarations: string | undefined; digest: string }>();

  /** The source as compiled: the kernel's contract (contracts.ts) expanded at its marker. */
  source(kernel: string): string {
    return expandContract(kernel, this.entry(kernel).source);
  }

  /** A short digest of a kernel's source: an edited kernel is timed afresh. */
  digest(kernel: string): string {
    const declarations = contractOf(kernel);
    const cached = this.digests.get(kernel);
    if (cached && cached.declarations === declarations) return cached.digest;
    const source = this.entry(kernel).digest;
    const digest = declarations === undefined ? source : fnv1a(source + declarations);
    this.digests.set(kernel, { declarations, digest });
    return digest;
  }

  /** Replaces a kernel's source (null restores the embedded one). */
  replace(kernel: string, source: string | null): void {
    this.digests.delete(kernel);
    if (source === null) this.replaced.delete(kernel);
    else this.replaced.set(kernel, { source, digest: fnv1a(source) });
  }

  private entry(kernel: string): { source: string; digest: string } {
    const entry = this.replaced.get(kernel) ?? KERNELS[kernel];
    if (!entry)
      throw new Error(`no kernel named '${kernel}': kernels/${kernel}.wgsl is not among the embedded sources`);
    return entry;
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 code units, 8 hex digits: a replaced source's digest (SHA-256 would
 *  need an async API in pages; this only has to tell versions apart). */
function fnv1a(text: string): string {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return (hash >>> 0).toString(16).padStart(8, '0');
}
