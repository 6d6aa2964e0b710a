// Sum over a set of axes, times alpha (alpha = 1/count gives the mean). The host merges
// adjacent dimensions so each side is at most 4 (size, stride) pairs: `kept` walks the
// outputs, `reduced` walks the elements summed into one output. LANES invocations
// share one output (a fixed-order tree, so results are deterministic); with LANES = 1
// each invocation owns an output, for many outputs with short reductions.
// sum_rows4: the sums down the columns of a [reduced, outputs] matrix whose rows are whole
// vec4s (the reduced axes all outer, the kept ones one contiguous run): conv2d's partial
// sums of grad-weight. Each invocation owns a vec4 of outputs and adds the rows in order.
// sum_runs4: the sums of consecutive runs of `reduced` values (the kept axes outer, the
// reduced ones one contiguous run at the end: the global average pool). Each invocation
// walks its run a vec4 at a time, from the vec4 that holds its first value: runs of 49-300
// values ran 2.5-9x faster than on main (the small ResNeXt's pool 5.96 -> 0.79 ms; warm
// pipelines, min of 11).

// @contract (ReduceParams: generated from src/ops/reduce_kernel.ts)

override LANES: u32 = 64u;
override OUTPUTS_PER_GROUP: u32 = 1u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> sum: ReduceParams;

var<workgroup> partial: array<f32, LANES * OUTPUTS_PER_GROUP>;

// index < the product of shape's first `rank` sizes, so the outermost dimension's index is
// what is left after the inner ones: no division for it. Divisions by sizes that are not
// constants run lane by lane on lavapipe; dropping that one made sums 1.5-1.9x faster.
fn offset_of(index: u32, rank: u32, shape: vec4<u32>, strides: vec4<u32>) -> u32 {
  var rem = index;
  var offset = 0u;
  for (var d = i32(rank) - 1; d > 0; d--) {
    offset += (rem % shape[d]) * strides[d];
    rem /= shape[d];
  }
  return offset + rem * strides[0];
}

@compute @workgroup_size(LANES * OUTPUTS_PER_GROUP)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lane = lid % LANES;
  let o = (wid.x + wid.y * nwg.x) * OUTPUTS_PER_GROUP + lid / LANES;
  var acc = 0.0;
  if (o < sum.outputs) {
    let base = offset_of(o, sum.kept_rank, sum.kept_shape, sum.kept_strides);
    for (var r = lane; r < sum.reduced; r += LANES) {
      acc += x[base + offset_of(r, sum.reduced_rank, sum.reduced_shape, sum.reduced_strides)];
    }
  }
  partial[lid] = acc;
  for (var step = LANES / 2u; step > 0u; step /= 2u) {
    workgroupBarrier();
    if (lane < step) { partial[lid] += partial[lid + step]; }
  }
  if (lane == 0u && o < sum.outputs) { out[o] = partial[lid] * sum.alpha; }
}

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out4: array<vec4<f32>>;

// lavapipe loads lane by lane, and a vec4 load costs it less than four scalar ones (1.5x
// for four contiguous scalars), and main's tree over LANES invocations costs barriers:
// partial sums of 2-128 rows of 1152-65536 values ran 3.2-9x faster than on main (warm
// pipelines, min of 11).
@compute @workgroup_size(LANES * OUTPUTS_PER_GROUP)
fn sum_rows4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = (wid.x + wid.y * nwg.x) * OUTPUTS_PER_GROUP * LANES + lid;
  let row = sum.outputs / 4u;
  if (o >= row) { return; }
  var acc = vec4<f32>();
  for (var r = 0u; r < sum.reduced; r++) { acc += x4[r * row + o]; }
  out4[o] = acc * sum.alpha;
}

@compute @workgroup_size(LANES * OUTPUTS_PER_GROUP)
fn sum_runs4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = (wid.x + wid.y * nwg.x) * OUTPUTS_PER_GROUP * LANES + lid;
  if (o >= sum.outputs) { return; }
  let first = o * sum.reduced;
  // The run's values sit at [s, end) of the vec4s from first / 4 on.
  let s = first % 4u;
  let end = s + sum.reduced;
  var acc = vec4<f32>();
  for (var j = 0u; 4u * j < end; j++) {
    let k = vec4<u32>(4u * j) + vec4<u32>(0u, 1u, 2u, 3u);
    acc += select(vec4<f32>(), x4[first / 4u + j], (k >= vec4<u32>(s)) & (k < vec4<u32>(end)));
  }
  out[o] = dot(acc, vec4<f32>(1.0)) * sum.alpha;
}
