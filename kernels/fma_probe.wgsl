// The adapter's FMA ceiling for `npm run bench:peers`: registers only, no memory traffic
// in the loop, so GFLOP/s here bounds what any kernel can reach on this adapter.
// Twelve independent scalar chains per invocation, enough to hide the FMA latency:
// lavapipe runs invocations as the lanes of CPU vector registers, so scalar chains are
// what fill them, and twelve fit beside the loop's own. Each invocation does 2 * 12 * LOOPS
// flops (LOOPS a multiple of 8).
// The inner loop has a constant trip count, so it unrolls, and no invocation returns
// early: on lavapipe the loop's bookkeeping, and the execution masks an early return
// brings, would otherwise cost about as much as the FMAs (28 GFLOP/s plain, 60-77 so).

override WG: u32 = 64u;
override LOOPS: u32 = 4096u;

@group(0) @binding(0) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  // Start values depend on the invocation, so the compiler cannot fold the chains away.
  let s = f32(i) * 1e-7;
  var a0 = s;
  var a1 = s + 0.01;
  var a2 = s + 0.02;
  var a3 = s + 0.03;
  var a4 = s + 0.04;
  var a5 = s + 0.05;
  var a6 = s + 0.06;
  var a7 = s + 0.07;
  var a8 = s + 0.08;
  var a9 = s + 0.09;
  var a10 = s + 0.10;
  var a11 = s + 0.11;
  // a <- a * m + c converges to c / (1 - m) = 1: the values stay finite for any LOOPS.
  let m = 0.999;
  let c = 0.001;
  for (var n = 0u; n < LOOPS; n += 8u) {
    for (var k = 0u; k < 8u; k++) {
      a0 = fma(a0, m, c);
      a1 = fma(a1, m, c);
      a2 = fma(a2, m, c);
      a3 = fma(a3, m, c);
      a4 = fma(a4, m, c);
      a5 = fma(a5, m, c);
      a6 = fma(a6, m, c);
      a7 = fma(a7, m, c);
      a8 = fma(a8, m, c);
      a9 = fma(a9, m, c);
      a10 = fma(a10, m, c);
      a11 = fma(a11, m, c);
    }
  }
  // Every chain reaches memory, so none of them is dead code.
  let sum = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
  if (i < arrayLength(&out)) { out[i] = sum; }
}
