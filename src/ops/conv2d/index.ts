// conv2d's public surface: the op (op.ts), its geometry (geometry.ts), the variants'
// registry and choice (registry.ts), tracing (trace.ts) and tuning (tune.ts). Layout and
// how to add a variant: docs/kernels.md.
export { conv2d, convForward, convGradInput, convGradWeight } from './op.js';
export {
  convGeometry,
  convParams,
  outputSize,
  pair,
  type Conv2dOptions,
  type ConvGeometry,
  type Pair,
} from './geometry.js';
export { chooseVariant, withConvVariant, type ConvVariant } from './registry.js';
export { traceConv2d, type ConvUse } from './trace.js';
export { tuneConv2d, type TunedChoice } from './tune.js';
export { CONV_ROLES, type ConvRole } from './variant.js';
