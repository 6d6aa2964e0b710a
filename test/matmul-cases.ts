// Random matmul shapes checked against the float64 reference; shared by the matmul tests
// and the browser suite.
import { tensor, type Generator } from '../src/index.js';
import { mm } from '../src/ops/matmul.js';
import { matmul as refMatmul, nd, type NDArray } from '../src/reference/index.js';
import { expectMatches, randomData, randomDim } from './helpers.js';

const abs = (x: NDArray): NDArray => ({ data: x.data.map(Math.abs), shape: x.shape });

/** `trials` random sizes up to 40, cycling through the four transpose combinations. */
export async function checkRandomMatmuls(rng: Generator, trials: number): Promise<void> {
  for (let trial = 0; trial < trials; trial++) {
    const [M, K, N] = [randomDim(rng, 40), randomDim(rng, 40), randomDim(rng, 40)];
    const transA = trial % 2 === 1;
    const transB = trial % 4 >= 2;
    const sa = transA ? [K, M] : [M, K];
    const sb = transB ? [N, K] : [K, N];
    const da = randomData(rng, M * K);
    const db = randomData(rng, K * N);
    const a = nd(da, sa);
    const b = nd(db, sb);
    const scale = refMatmul(abs(a), abs(b), transA, transB).data;
    await expectMatches(
      mm(tensor(da, sa), tensor(db, sb), transA, transB),
      refMatmul(a, b, transA, transB),
      `mm ${M}x${K}x${N} tA=${transA} tB=${transB}`,
      { rtol: 1e-6, scale },
    );
  }
}
