// Tracing: which convolutions a computation runs and which roles of each it needs, the
// shapes a model's tuning (tune.ts) should time. conv2d() notes each call here.
import type { ConvGeometry } from './geometry.js';
import { convSubject } from './registry.js';
import type { ConvRole } from './variant.js';

/** A convolution a traced computation ran, and which of its kernels it needed. */
export interface ConvUse {
  geometry: ConvGeometry;
  roles: ConvRole[];
}

/** The traces open now (a traceConv2d() whose stop function was not called yet). */
const open = new Set<Map<string, ConvUse>>();

/** Records the convolutions conv2d() runs from now until the returned function is called,
 *  which returns them: the shapes a model needs, for tuneConv2d. */
export function traceConv2d(): () => ConvUse[] {
  const uses = new Map<string, ConvUse>();
  open.add(uses);
  return () => {
    open.delete(uses);
    return [...uses.values()];
  };
}

/** Notes that `g` ran with `roles`, in every open trace. */
export function noteUse(g: ConvGeometry, roles: ConvRole[]): void {
  const key = convSubject('forward', g);
  for (const uses of open) {
    const use = uses.get(key) ?? { geometry: g, roles: [] };
    use.roles = [...new Set([...use.roles, ...roles])];
    uses.set(key, use);
  }
}

/** Whether any trace is open (conv2d() skips noting otherwise). */
export const tracing = () => open.size > 0;
