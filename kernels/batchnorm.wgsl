// BatchNorm2d over NCHW f32 tensors, with an optional fused ReLU after it.
//   stats:           one workgroup per channel: batch mean and biased variance (one pass
//                    of shifted sums over the channel, a fixed-order tree: deterministic)
//   update_running:  running_mean/var <- (1 - momentum) * running + momentum * batch
//                    (the unbiased variance, as PyTorch keeps)
//   apply:           y = (x - mean) * rsqrt(var + eps) * weight + bias, then max(y, 0) if RELU
//   backward_reduce: one workgroup per channel: sum(g) and sum(g * xhat), where g is the
//                    upstream gradient, zeroed where a fused ReLU clipped
//   backward_apply:  dx = weight * rsqrt(var + eps) * (g - [sum(g) + xhat * sum(g xhat)] / M)
//                    in training (batch statistics), dx = weight * rsqrt(var + eps) * g in eval

struct Params {
  N: u32,
  C: u32,
  HW: u32,
  eps: f32,
  momentum: f32,
}

override WG: u32 = 64u;
override RELU: bool = false;
override TRAINING: bool = true;
// Elements per invocation and loop step: 4 when a plane is a whole number of vec4s (a vec4
// load costs about as much as 1.3 scalar loads on CPU adapters), else 1.
override VEC: u32 = 1u;
// Chunks of VEC elements per invocation in apply and backward_apply: the per-channel
// values each invocation loads (each as costly as a chunk on CPU adapters) are shared.
override CHUNKS: u32 = 8u;

// stats: x (0), stats (1) = [mean | var], params (2)
@group(0) @binding(1) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
// update_running: stats (0), running_mean (1), running_var (2), params (3)
@group(0) @binding(0) var<storage, read> batch_stats: array<f32>;
@group(0) @binding(1) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(3) var<uniform> up: Params;
// apply: x (0), stats (1), weight (2), bias (3), y (4), params (5). x, y, the gradient
// and dx are bound as vec4 arrays everywhere.
@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> ap: Params;
// backward_reduce: x (0), stats (1), weight (2), bias (3), grad (4), sums (5) = [sum g | sum g xhat], params (6)
@group(0) @binding(4) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> sums_out: array<f32>;
@group(0) @binding(6) var<uniform> bp: Params;
// backward_apply: x (0), stats (1), weight (2), bias (3), grad (4), sums (5), dx (6), params (7)
@group(0) @binding(5) var<storage, read> sums: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> dp: Params;

var<workgroup> partial: array<f32, WG>;

// Sums `value` over the workgroup; every invocation gets the total.
fn workgroup_sum(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  for (var step = WG / 2u; step > 0u; step /= 2u) {
    workgroupBarrier();
    if (lid < step) { partial[lid] += partial[lid + step]; }
  }
  workgroupBarrier();
  let total = partial[0];
  workgroupBarrier();
  return total;
}

// The per-channel passes walk each image's plane of channel c; the per-element passes
// run one workgroup row per (c, n) plane (gid.y = c, gid.z = n), so that every
// per-channel value they read is the same for the whole workgroup: uniform loads.

// Lanes of a vec4 from x_vec or grad_vec that hold elements.
const ALL = vec4<f32>(1.0);
const FIRST = vec4<f32>(1.0, 0.0, 0.0, 0.0);

@compute @workgroup_size(WG)
fn stats_main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = wid.x;
  let count = f32(p.N * p.HW);
  // One pass over the channel: sums of d = x - k and d^2, with k the channel's first value
  // (the shifted-data variance: k is near the mean, so var = E[d^2] - E[d]^2 cancels
  // little). Half the loads of a pass for the mean and one for the variance.
  let k = x_vec(c * p.HW).x;
  let used = select(FIRST, ALL, VEC == 4u);
  var s = vec4<f32>();
  var q = vec4<f32>();
  for (var n = 0u; n < p.N; n++) {
    let plane = (n * p.C + c) * p.HW;
    for (var i = lid * VEC; i < p.HW; i += WG * VEC) {
      let d = (x_vec(plane + i) - k) * used;
      s += d;
      q += d * d;
    }
  }
  let shifted_mean = workgroup_sum(lid, dot(s, ALL)) / count;
  let variance = max(workgroup_sum(lid, dot(q, ALL)) / count - shifted_mean * shifted_mean, 0.0);
  if (lid == 0u) {
    stats_out[c] = k + shifted_mean;
    stats_out[p.C + c] = variance;
  }
}

@compute @workgroup_size(WG)
fn update_running(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= up.C) { return; }
  let count = f32(up.N * up.HW);
  let unbiased = batch_stats[up.C + c] * count / max(count - 1.0, 1.0);
  running_mean[c] = (1.0 - up.momentum) * running_mean[c] + up.momentum * batch_stats[c];
  running_var[c] = (1.0 - up.momentum) * running_var[c] + up.momentum * unbiased;
}

// Elements [i, i + VEC) of x, or of the upstream gradient, as a vec4 (unused lanes 0).
fn x_vec(i: u32) -> vec4<f32> {
  if (VEC == 4u) { return x4[i / 4u]; }
  return vec4<f32>(x4[i / 4u][i % 4u], 0.0, 0.0, 0.0);
}

fn grad_vec(i: u32) -> vec4<f32> {
  if (VEC == 4u) { return grad4[i / 4u]; }
  return vec4<f32>(grad4[i / 4u][i % 4u], 0.0, 0.0, 0.0);
}

@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.y;
  let scale = inverseSqrt(stats[ap.C + c] + ap.eps) * weight[c];
  let mean = stats[c];
  let b = bias[c];
  let plane = (gid.z * ap.C + c) * ap.HW;
  for (var k = 0u; k < CHUNKS; k++) {
    let first = (gid.x * CHUNKS + k) * VEC;
    if (first >= ap.HW) { return; }
    let i = plane + first;
    var v = (x_vec(i) - mean) * scale + b;
    if (RELU) { v = max(v, vec4<f32>()); }
    if (VEC == 4u) { y[i / 4u] = v; } else { y[i / 4u][i % 4u] = v.x; }
  }
}

// The upstream gradient, zero where the fused ReLU clipped (y = xhat * w + b <= 0).
fn gated(g: vec4<f32>, xhat: vec4<f32>, w: f32, b: f32) -> vec4<f32> {
  if (!RELU) { return g; }
  return select(g, vec4<f32>(), xhat * w + b <= vec4<f32>());
}

@compute @workgroup_size(WG)
fn backward_reduce(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = wid.x;
  let inv = inverseSqrt(stats[bp.C + c] + bp.eps);
  let mean = stats[c];
  let w = weight[c];
  let b = bias[c];
  var sg = vec4<f32>();
  var sgx = vec4<f32>();
  for (var n = 0u; n < bp.N; n++) {
    let plane = (n * bp.C + c) * bp.HW;
    for (var i = lid * VEC; i < bp.HW; i += WG * VEC) {
      let xhat = (x_vec(plane + i) - mean) * inv;
      let g = gated(grad_vec(plane + i), xhat, w, b);
      sg += g;
      sgx += g * xhat;
    }
  }
  let total_g = workgroup_sum(lid, dot(sg, ALL));
  let total_gx = workgroup_sum(lid, dot(sgx, ALL));
  if (lid == 0u) {
    sums_out[c] = total_g;
    sums_out[bp.C + c] = total_gx;
  }
}

@compute @workgroup_size(WG)
fn backward_apply(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.y;
  let inv = inverseSqrt(stats[dp.C + c] + dp.eps);
  let mean = stats[c];
  let w = weight[c];
  let b = bias[c];
  let scale = w * inv;
  let count = f32(dp.N * dp.HW);
  let sum_g = sums[c];
  let sum_gx = sums[dp.C + c];
  let plane = (gid.z * dp.C + c) * dp.HW;
  for (var k = 0u; k < CHUNKS; k++) {
    let first = (gid.x * CHUNKS + k) * VEC;
    if (first >= dp.HW) { return; }
    let i = plane + first;
    let xhat = (x_vec(i) - mean) * inv;
    let g = gated(grad_vec(i), xhat, w, b);
    var d = scale * g;
    if (TRAINING) { d = scale * (g - (sum_g + xhat * sum_gx) / count); }
    if (VEC == 4u) { dx[i / 4u] = d; } else { dx[i / 4u][i % 4u] = d.x; }
  }
}
