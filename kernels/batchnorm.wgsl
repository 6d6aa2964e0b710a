// BatchNorm2d over NCHW f32 tensors, with an optional fused ReLU after it.
//   stats:           one workgroup per channel: batch mean and biased variance (two passes
//                    over the channel, a fixed-order tree: deterministic)
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

// stats: x (0), stats (1) = [mean | var], params (2)
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats_out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
// update_running: stats (0), running_mean (1), running_var (2), params (3)
@group(0) @binding(0) var<storage, read> batch_stats: array<f32>;
@group(0) @binding(1) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(3) var<uniform> up: Params;
// apply: x (0), stats (1), weight (2), bias (3), y (4), params (5)
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> ap: Params;
// backward_reduce: x (0), stats (1), weight (2), bias (3), grad (4), sums (5) = [sum g | sum g xhat], params (6)
@group(0) @binding(4) var<storage, read> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> sums_out: array<f32>;
@group(0) @binding(6) var<uniform> bp: Params;
// backward_apply: x (0), stats (1), weight (2), bias (3), grad (4), sums (5), dx (6), params (7)
@group(0) @binding(5) var<storage, read> sums: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
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

@compute @workgroup_size(WG)
fn stats_main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = wid.x;
  let count = p.N * p.HW;
  var s = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let plane = (n * p.C + c) * p.HW;
    for (var i = lid; i < p.HW; i += WG) { s += x[plane + i]; }
  }
  let mean = workgroup_sum(lid, s) / f32(count);
  var q = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let plane = (n * p.C + c) * p.HW;
    for (var i = lid; i < p.HW; i += WG) {
      let d = x[plane + i] - mean;
      q += d * d;
    }
  }
  let variance = workgroup_sum(lid, q) / f32(count);
  if (lid == 0u) {
    stats_out[c] = mean;
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

fn normalized(c: u32, value: f32, C: u32, eps: f32) -> f32 {
  return (value - stats[c]) * inverseSqrt(stats[C + c] + eps);
}

@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= ap.HW) { return; }
  let c = gid.y;
  let i = (gid.z * ap.C + c) * ap.HW + gid.x;
  let scale = inverseSqrt(stats[ap.C + c] + ap.eps) * weight[c];
  var v = (x[i] - stats[c]) * scale + bias[c];
  if (RELU) { v = max(v, 0.0); }
  y[i] = v;
}

// The upstream gradient at element i, zero where the fused ReLU clipped.
fn gated_grad(i: u32, c: u32, xhat: f32) -> f32 {
  if (RELU && xhat * weight[c] + bias[c] <= 0.0) { return 0.0; }
  return grad[i];
}

@compute @workgroup_size(WG)
fn backward_reduce(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = wid.x;
  var sg = 0.0;
  var sgx = 0.0;
  for (var n = 0u; n < bp.N; n++) {
    let plane = (n * bp.C + c) * bp.HW;
    for (var i = lid; i < bp.HW; i += WG) {
      let xhat = normalized(c, x[plane + i], bp.C, bp.eps);
      let g = gated_grad(plane + i, c, xhat);
      sg += g;
      sgx += g * xhat;
    }
  }
  let total_g = workgroup_sum(lid, sg);
  let total_gx = workgroup_sum(lid, sgx);
  if (lid == 0u) {
    sums_out[c] = total_g;
    sums_out[bp.C + c] = total_gx;
  }
}

@compute @workgroup_size(WG)
fn backward_apply(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= dp.HW) { return; }
  let c = gid.y;
  let i = (gid.z * dp.C + c) * dp.HW + gid.x;
  let xhat = normalized(c, x[i], dp.C, dp.eps);
  let g = gated_grad(i, c, xhat);
  let scale = weight[c] * inverseSqrt(stats[dp.C + c] + dp.eps);
  if (TRAINING) {
    let count = f32(dp.N * dp.HW);
    dx[i] = scale * (g - (sums[c] + xhat * sums[dp.C + c]) / count);
  } else {
    dx[i] = scale * g;
  }
}
