// The WGSL sources the runtime compiles: embedded at build time (kernels.generated.ts,
// made by scripts/embed-kernels.mjs), so no file system is needed, with a digest of each
// that keys tuning choices to one version of a kernel (and of its contract and the
// fragments it includes). Tests may swap a kernel's or a fragment's source in.
import { ArgumentError } from '../errors.js';
import { contractOf, expandContract } from './contracts.js';
import { expandIncludes, includesOf } from './includes.js';
import { FRAGMENTS, KERNELS, type EmbeddedKernel } from './kernels.generated.js';

export class KernelLibrary {
  private readonly replaced = new Map<string, EmbeddedKernel>();
  private readonly replacedFragments = new Map<string, EmbeddedKernel>();
  /** Digests with their contract folded in, by kernel: tuning keys ask for them at every
   *  convolution, so they are hashed once per source and contract. */
  private readonly digests = new Map<string, { declarations: string | undefined; digest: string }>();

  /** The source as compiled: the fragments it includes appended (includes.ts) and the
   *  kernel's contract (contracts.ts) expanded at its marker. */
  source(kernel: string): string {
    const withFragments = expandIncludes(
      kernel,
      this.entry(kernel).source,
      (name) => this.fragment(kernel, name).source,
    );
    return expandContract(kernel, withFragments);
  }

  /** A short digest of a kernel's source: an edited kernel or fragment is timed afresh. */
  digest(kernel: string): string {
    const declarations = contractOf(kernel);
    const cached = this.digests.get(kernel);
    if (cached && cached.declarations === declarations) return cached.digest;
    const entry = this.entry(kernel);
    const fragments = includesOf(entry.source).map((name) => this.fragment(kernel, name).digest);
    const folded = (declarations ?? '') + fragments.join('');
    const digest = folded === '' ? entry.digest : fnv1a(entry.digest + folded);
    this.digests.set(kernel, { declarations, digest });
    return digest;
  }

  /** Replaces a kernel's or a fragment's source (null restores the embedded one). */
  replace(name: string, source: string | null): void {
    if (!(name in KERNELS) && !(name in FRAGMENTS))
      throw new ArgumentError(
        'setKernelSource',
        'name',
        `'${name}' is neither a kernel in kernels/ nor a fragment in kernels/include/ (a file name without .wgsl)`,
      );
    // A fragment's source is part of every digest that includes it.
    this.digests.clear();
    const table = name in FRAGMENTS ? this.replacedFragments : this.replaced;
    if (source === null) table.delete(name);
    else table.set(name, { source, digest: fnv1a(source) });
  }

  /** The kernels whose source includes `name` (for a fragment; none for a kernel). */
  includers(name: string): string[] {
    if (!(name in FRAGMENTS)) return [];
    return Object.keys(KERNELS).filter((kernel) => includesOf(this.entry(kernel).source).includes(name));
  }

  private entry(kernel: string): EmbeddedKernel {
    const entry = this.replaced.get(kernel) ?? KERNELS[kernel];
    if (!entry)
      throw new Error(`no kernel named '${kernel}': kernels/${kernel}.wgsl is not among the embedded sources`);
    return entry;
  }

  private fragment(kernel: string, name: string): EmbeddedKernel {
    const entry = this.replacedFragments.get(name) ?? FRAGMENTS[name];
    if (!entry)
      throw new Error(
        `kernels/${kernel}.wgsl includes '${name}', but kernels/include/${name}.wgsl is not among the embedded fragments`,
      );
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
