// conv2d's autotuning: for each traced use (trace.ts) and role with no stored choice, the
// generic tuner (src/ops/tuner.ts) times the variants that apply (registry.ts) and keeps
// the fastest.
import { randn } from '../../creation.js';
import { Generator } from '../../random.js';
import { runtime } from '../../runtime/index.js';
import type { Tensor } from '../../tensor.js';
import { tune, type Tuned } from '../tuner.js';
import { convForward, convGradInput, convGradWeight } from './op.js';
import { applicableVariants, convTuningKey, type ConvVariant } from './registry.js';
import type { ConvUse } from './trace.js';
import type { ConvRole } from './variant.js';

export type TunedChoice = Tuned<ConvVariant>;

/** Times the variants (portable, subgroup, the subgroup forward's two-row form, padded
 *  rows, products for 1x1) of each use where two or more apply and no choice is known yet,
 *  and keeps the fastest in runtime().tuning. Returns what it decided. */
export async function tuneConv2d(uses: readonly ConvUse[]): Promise<TunedChoice[]> {
  const decided: TunedChoice[] = [];
  for (const { geometry: g, roles } of uses) {
    const open = roles.filter(
      (role) => runtime().tuning.get(convTuningKey(role, g)) === undefined && applicableVariants(role, g).length > 1,
    );
    if (open.length === 0) continue;
    // Its own generator: tuning must not move the draws of the caller's random streams.
    const generator = new Generator(0);
    const inputs = [
      [g.N, g.C_in, g.H, g.W],
      [g.C_out, g.C_in / g.groups, g.kH, g.kW],
      [g.N, g.C_out, g.H_out, g.W_out],
    ].map((shape) => randn(shape, { generator }));
    const [x, w, dy] = inputs;
    const run: Record<ConvRole, (variant: ConvVariant) => Tensor> = {
      forward: (variant) => convForward(x, w, null, g, 'conv2d', variant),
      grad_input: (variant) => convGradInput(dy, w, g, variant),
      grad_weight: (variant) => convGradWeight(x, dy, w.shape, g, variant),
    };
    for (const role of open) {
      const candidates = applicableVariants(role, g).map(({ name }) => ({
        name,
        run: () => run[role](name).dispose(),
      }));
      const result = await tune(convTuningKey(role, g), candidates);
      if (result) decided.push(result);
    }
    inputs.forEach((t) => t.dispose());
  }
  return decided;
}
