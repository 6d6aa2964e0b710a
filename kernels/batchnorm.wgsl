// BatchNorm2d over NCHW f32 tensors, with an optional fused ReLU after it.
//   stats_partial:   per plane segment: sums of d = x - k and d^2, with k the channel's first
//                    value (shifted data: k is near the mean, so var = E[d^2] - E[d]^2
//                    cancels little)
//   finalize:        one invocation per channel adds its segments' sums in a fixed order
//                    (deterministic): the batch mean and biased variance, or the gradient sums
//   update_running:  running_mean/var <- (1 - momentum) * running + momentum * batch
//                    (the unbiased variance, as PyTorch keeps)
//   apply:           y = (x - mean) * rsqrt(var + eps) * weight + bias, then max(y, 0) if RELU
//   apply_residual:  the same with a residual added before the ReLU (a ResNet block's end;
//                    its backward gates the gradient first and runs the passes below
//                    without RELU)
//   backward_partial: per plane segment: sum(g) and sum(g * xhat), where g is the upstream
//                    gradient, zeroed where a fused ReLU clipped
//   backward_apply:  dx = weight * rsqrt(var + eps) * (g - [sum(g) + xhat * sum(g xhat)] / M)
//                    in training (batch statistics), dx = weight * rsqrt(var + eps) * g in eval
//
// Every pass but the finalizers gives one invocation one segment of one (n, c) plane and
// walks it in memory order: the per-channel values are loaded once per segment, and a
// subgroup's lanes stream through neighbouring planes. (One workgroup per channel, walking
// plane after plane 4-400 KiB apart, read memory at a third of this speed on CPU adapters;
// one workgroup row per plane left most lanes idle on planes of 7x7 and 14x14.)

// @contract (BatchNormParams: generated from src/ops/batchnorm.ts)

override WG: u32 = 64u;
override RELU: bool = false;
override TRAINING: bool = true;
// Elements per load: 4 when a plane is a whole number of vec4s, else 1.
override VEC: u32 = 1u;
// Segments per plane, and elements per segment (a multiple of VEC; the last may be short).
override SEGMENTS: u32 = 1u;
override SEGMENT: u32 = 4u;
// finalize: the sums are of x - k (stats_partial's), not of the gradient (backward_partial's).
override SHIFTED: bool = true;

// stats_partial: x (0), partial sums (1), params (2)
@group(0) @binding(1) var<storage, read_write> partials_out: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> stats_params: BatchNormParams;
// finalize: x (0), partial sums (1), stats (2) = [mean | var] or sums (2) = [sum g | sum g xhat], params (3)
@group(0) @binding(1) var<storage, read> partials: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> channel_out: array<f32>;
@group(0) @binding(3) var<uniform> finalize_params: BatchNormParams;
// update_running: stats (0), running_mean (1), running_var (2), params (3)
@group(0) @binding(0) var<storage, read> batch_stats: array<f32>;
@group(0) @binding(1) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(3) var<uniform> running_params: BatchNormParams;
// apply: x (0), stats (1), weight (2), bias (3), y (4), params (5). x, y, the gradient
// and dx are bound as vec4 arrays everywhere.
@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> stats: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> apply_params: BatchNormParams;
// apply_residual: x (0), stats (1), weight (2), bias (3), residual (4), y (5), params (6)
@group(0) @binding(4) var<storage, read> residual4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> y_sum: array<vec4<f32>>;
@group(0) @binding(6) var<uniform> residual_params: BatchNormParams;
// backward_partial: x (0), stats (1), weight (2), bias (3), grad (4), partial sums (5), params (6)
@group(0) @binding(4) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> grad_partials_out: array<vec2<f32>>;
@group(0) @binding(6) var<uniform> backward_params: BatchNormParams;
// backward_apply: x (0), stats (1), weight (2), bias (3), grad (4), sums (5), dx (6), params (7)
@group(0) @binding(5) var<storage, read> sums: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(7) var<uniform> grad_input_params: BatchNormParams;

// Lanes of a vec4 from x_vec or grad_vec that hold elements.
const ALL = vec4<f32>(1.0);
const FIRST = vec4<f32>(1.0, 0.0, 0.0, 0.0);

// Elements [i, i + VEC) of x, the residual or the upstream gradient, as a vec4 (unused
// lanes 0).
fn x_vec(i: u32) -> vec4<f32> {
  if (VEC == 4u) { return x4[i / 4u]; }
  return vec4<f32>(x4[i / 4u][i % 4u], 0.0, 0.0, 0.0);
}

fn residual_vec(i: u32) -> vec4<f32> {
  if (VEC == 4u) { return residual4[i / 4u]; }
  return vec4<f32>(residual4[i / 4u][i % 4u], 0.0, 0.0, 0.0);
}

fn grad_vec(i: u32) -> vec4<f32> {
  if (VEC == 4u) { return grad4[i / 4u]; }
  return vec4<f32>(grad4[i / 4u][i % 4u], 0.0, 0.0, 0.0);
}

// One plane segment: the invocation's index t = plane * SEGMENTS + segment, and the
// element range [start, end) it walks, as flat indices into the tensor.
struct Segment {
  t: u32,
  c: u32,
  start: u32,
  end: u32,
}

fn segment_of(gid: vec3<u32>, nwg: vec3<u32>, q: BatchNormParams) -> Segment {
  let t = gid.x + gid.y * nwg.x * WG;
  let plane = t / SEGMENTS;
  let first = (t % SEGMENTS) * SEGMENT;
  let start = plane * q.HW + first;
  return Segment(t, plane % q.C, start, start + min(SEGMENT, q.HW - min(first, q.HW)));
}

fn segment_count(q: BatchNormParams) -> u32 {
  return q.N * q.C * SEGMENTS;
}

@compute @workgroup_size(WG)
fn stats_partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = segment_of(gid, nwg, stats_params);
  if (s.t >= segment_count(stats_params)) { return; }
  let k = x_vec(s.c * stats_params.HW).x;
  let used = select(FIRST, ALL, VEC == 4u);
  var sum = vec4<f32>();
  var squares = vec4<f32>();
  for (var i = s.start; i < s.end; i += VEC) {
    let d = (x_vec(i) - k) * used;
    sum += d;
    squares += d * d;
  }
  partials_out[s.t] = vec2<f32>(dot(sum, ALL), dot(squares, ALL));
}

@compute @workgroup_size(WG)
fn finalize(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= finalize_params.C) { return; }
  var total = vec2<f32>();
  for (var n = 0u; n < finalize_params.N; n++) {
    let first = (n * finalize_params.C + c) * SEGMENTS;
    for (var s = 0u; s < SEGMENTS; s++) { total += partials[first + s]; }
  }
  if (SHIFTED) {
    let count = f32(finalize_params.N * finalize_params.HW);
    let shifted_mean = total.x / count;
    channel_out[c] = x_vec(c * finalize_params.HW).x + shifted_mean;
    channel_out[finalize_params.C + c] = max(total.y / count - shifted_mean * shifted_mean, 0.0);
  } else {
    channel_out[c] = total.x;
    channel_out[finalize_params.C + c] = total.y;
  }
}

@compute @workgroup_size(WG)
fn update_running(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= running_params.C) { return; }
  let count = f32(running_params.N * running_params.HW);
  let unbiased = batch_stats[running_params.C + c] * count / max(count - 1.0, 1.0);
  running_mean[c] = (1.0 - running_params.momentum) * running_mean[c] + running_params.momentum * batch_stats[c];
  running_var[c] = (1.0 - running_params.momentum) * running_var[c] + running_params.momentum * unbiased;
}

// The values of channel c that every per-element pass needs, loaded once per segment.
struct Channel {
  mean: f32,
  inv_std: f32,
  w: f32,
  b: f32,
}

fn channel_of(c: u32, q: BatchNormParams) -> Channel {
  return Channel(stats[c], inverseSqrt(stats[q.C + c] + q.eps), weight[c], bias[c]);
}

fn normalized(i: u32, ch: Channel) -> vec4<f32> {
  return (x_vec(i) - ch.mean) * ch.inv_std;
}

fn activated(v: vec4<f32>) -> vec4<f32> {
  if (RELU) { return max(v, vec4<f32>()); }
  return v;
}

@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = segment_of(gid, nwg, apply_params);
  if (s.t >= segment_count(apply_params)) { return; }
  let ch = channel_of(s.c, apply_params);
  for (var i = s.start; i < s.end; i += VEC) {
    let v = activated(normalized(i, ch) * ch.w + ch.b);
    if (VEC == 4u) { y[i / 4u] = v; } else { y[i / 4u][i % 4u] = v.x; }
  }
}

@compute @workgroup_size(WG)
fn apply_residual(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = segment_of(gid, nwg, residual_params);
  if (s.t >= segment_count(residual_params)) { return; }
  let ch = channel_of(s.c, residual_params);
  for (var i = s.start; i < s.end; i += VEC) {
    let v = activated(normalized(i, ch) * ch.w + ch.b + residual_vec(i));
    if (VEC == 4u) { y_sum[i / 4u] = v; } else { y_sum[i / 4u][i % 4u] = v.x; }
  }
}

// The upstream gradient, zero where the fused ReLU clipped (y = xhat * w + b <= 0).
fn gated(g: vec4<f32>, xhat: vec4<f32>, ch: Channel) -> vec4<f32> {
  if (!RELU) { return g; }
  return select(g, vec4<f32>(), xhat * ch.w + ch.b <= vec4<f32>());
}

@compute @workgroup_size(WG)
fn backward_partial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = segment_of(gid, nwg, backward_params);
  if (s.t >= segment_count(backward_params)) { return; }
  let ch = channel_of(s.c, backward_params);
  var sg = vec4<f32>();
  var sgx = vec4<f32>();
  for (var i = s.start; i < s.end; i += VEC) {
    let xhat = normalized(i, ch);
    let g = gated(grad_vec(i), xhat, ch);
    sg += g;
    sgx += g * xhat;
  }
  grad_partials_out[s.t] = vec2<f32>(dot(sg, ALL), dot(sgx, ALL));
}

@compute @workgroup_size(WG)
fn backward_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = segment_of(gid, nwg, grad_input_params);
  if (s.t >= segment_count(grad_input_params)) { return; }
  let ch = channel_of(s.c, grad_input_params);
  let scale = ch.w * ch.inv_std;
  let count = f32(grad_input_params.N * grad_input_params.HW);
  let mean_g = sums[s.c] / count;
  let mean_gx = sums[grad_input_params.C + s.c] / count;
  for (var i = s.start; i < s.end; i += VEC) {
    let xhat = normalized(i, ch);
    let g = gated(grad_vec(i), xhat, ch);
    var d = scale * g;
    if (TRAINING) { d = scale * (g - mean_g - xhat * mean_gx); }
    if (VEC == 4u) { dx[i / 4u] = d; } else { dx[i / 4u][i % 4u] = d.x; }
  }
}
