// Elementwise ops over contiguous f32 tensors, with broadcasting by strides (0 on a
// broadcast dimension) when BROADCAST is set. One invocation per output element.
//   unary:      out = alpha * f(a) + beta,    f chosen by OP (identity, relu, exp, log, sqrt)
//   binary:     out = a (op) b,               op chosen by OP (add, sub, mul, div, relu_backward)
//   unary4, binary4: the same without broadcasting, a vec4 per invocation
//   accumulate: sum_into += source, in place (shapes equal); used for gradient accumulation.
//   strided_copy: out[b_strides . idx] = a[a_strides . idx] for every index idx of shape:
//               strided slicing (gather) and its backward (scatter into zeros).
//   repeat4:    out = alpha * a[i / count] over an output of shape [rows, count], count >= 4:
//               each value repeated over a run (the global average pool's gradient), a
//               vec4 of the output per invocation.

// @contract (ElementwiseParams, RANK_SLOTS, the UNARY_* and BINARY_* op codes: generated from src/ops/elementwise.ts)

override OP: u32 = 0u;
override BROADCAST: bool = false;
override WG: u32 = 256u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> binary_params: ElementwiseParams;

// The two-buffer entries' uniform (unary, unary4, strided_copy, accumulate).
@group(0) @binding(1) var<storage, read_write> unary_out: array<f32>;
@group(0) @binding(2) var<uniform> unary_params: ElementwiseParams;

// accumulate works on whole vec4s (buffers are multiples of 16 bytes; lanes past the end
// of the tensor are never read as data).
@group(0) @binding(0) var<storage, read_write> sum_into: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> source: array<vec4<f32>>;

fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Set by the host when every index is below 2^24, where f32 holds it exactly.
override FAST_DIV: bool = false;

// x / d and x % d. CPU adapters have no vector integer division (LLVM splits it into a
// scalar divide per lane, tens of cycles each); below 2^24 an f32 quotient, corrected by
// one, is exact and runs on the vector units.
fn div_mod(x: u32, d: u32) -> vec2<u32> {
  if (!FAST_DIV) { return vec2<u32>(x / d, x % d); }
  var q = u32(f32(x) / f32(d));
  if (q * d > x) { q -= 1u; } else if ((q + 1u) * d <= x) { q += 1u; }
  return vec2<u32>(q, x - q * d);
}

// The output's rank for the strided entries: a constant, so the loop below unrolls and
// reads the shape and strides at constant offsets. (With a loop bound from the params,
// lavapipe read them lane by lane, eight loads per dimension per element.)
override RANK: u32 = 1u;

// Offset of output element i in a tensor with the given strides over the output shape.
fn strided_offset(i: u32, shape: array<vec4<u32>, RANK_SLOTS>, strides: array<vec4<u32>, RANK_SLOTS>) -> u32 {
  var rem = i;
  var offset = 0u;
  for (var d = i32(RANK) - 1; d >= 0; d--) {
    let qr = div_mod(rem, shape[d / 4][d % 4]);
    offset += qr.y * strides[d / 4][d % 4];
    rem = qr.x;
  }
  return offset;
}

fn unary_op(x: vec4<f32>) -> vec4<f32> {
  switch OP {
    case UNARY_RELU: { return max(x, vec4<f32>()); }
    case UNARY_EXP: { return exp(x); }
    case UNARY_LOG: { return log(x); }
    case UNARY_SQRT: { return sqrt(x); }
    default: { return x; } // UNARY_IDENTITY
  }
}

fn binary_op(x: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
  switch OP {
    case BINARY_SUB: { return x - y; }
    case BINARY_MUL: { return x * y; }
    case BINARY_DIV: { return x / y; }
    case BINARY_RELU_BACKWARD: { return select(vec4<f32>(), x, y > vec4<f32>()); }
    default: { return x + y; } // BINARY_ADD
  }
}

@compute @workgroup_size(WG)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= unary_params.n) { return; }
  var x = a[i];
  if (BROADCAST) { x = a[strided_offset(i, unary_params.shape, unary_params.a_strides)]; }
  unary_out[i] = unary_params.alpha * unary_op(vec4<f32>(x)).x + unary_params.beta;
}

@compute @workgroup_size(WG)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= binary_params.n) { return; }
  var x = a[i];
  var y = b[i];
  if (BROADCAST) {
    x = a[strided_offset(i, binary_params.shape, binary_params.a_strides)];
    y = b[strided_offset(i, binary_params.shape, binary_params.b_strides)];
  }
  out[i] = binary_op(vec4<f32>(x), vec4<f32>(y)).x;
}

// unary4, binary4 and accumulate: operands of the output's shape, SPAN consecutive vec4s
// per invocation (a vec4 load costs about as much as a scalar one on CPU adapters, and an
// invocation's setup as much as several loads). Buffers are whole vec4s, so the last
// vec4's lanes past n read and write padding.
override SPAN: u32 = 1u;

// The vec4s [first, end) that invocation `gid` walks.
fn span_of(gid: vec3<u32>, nwg: vec3<u32>, n: u32) -> vec2<u32> {
  let first = linear_index(gid, nwg) * SPAN;
  return vec2<u32>(first, min(first + SPAN, (n + 3u) / 4u));
}
@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> unary_out4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn unary4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let span = span_of(gid, nwg, unary_params.n);
  for (var i = span.x; i < span.y; i++) { unary_out4[i] = unary_params.alpha * unary_op(a4[i]) + unary_params.beta; }
}

@compute @workgroup_size(WG)
fn binary4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let span = span_of(gid, nwg, binary_params.n);
  for (var i = span.x; i < span.y; i++) { out4[i] = binary_op(a4[i], b4[i]); }
}

// strided_copy: one invocation per run of up to RUN elements along the last dimension,
// whose offsets are computed once (the divisions per element cost more than the copy).
override RUN: u32 = 64u;

@compute @workgroup_size(WG)
fn strided_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let d = RANK - 1u;
  let last = unary_params.shape[d / 4u][d % 4u];
  let runs = (last + RUN - 1u) / RUN;
  let t = linear_index(gid, nwg);
  let first = div_mod(t, runs);
  let start = first.x * last + first.y * RUN;
  if (start >= unary_params.n) { return; }
  let source_offset = strided_offset(start, unary_params.shape, unary_params.a_strides);
  let out_offset = strided_offset(start, unary_params.shape, unary_params.b_strides);
  let source_step = unary_params.a_strides[d / 4u][d % 4u];
  let out_step = unary_params.b_strides[d / 4u][d % 4u];
  for (var j = 0u; j < min(RUN, last - first.y * RUN); j++) {
    unary_out[out_offset + j * out_step] = a[source_offset + j * source_step];
  }
}

@compute @workgroup_size(WG)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let span = span_of(gid, nwg, unary_params.n);
  for (var i = span.x; i < span.y; i++) { sum_into[i] += source[i]; }
}

// With count >= 4 a vec4 of the output meets at most two runs: from component `cut` on, the
// next value's. lavapipe stores lane by lane, and a vec4 costs it less than four scalars:
// the small ResNeXt's pool gradient ran 3.1x faster than through `unary` (3.28 -> 1.05 ms),
// ResNeXt-50's at batch 64 4x (warm A/B, min of 10).
@compute @workgroup_size(WG)
fn repeat4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (4u * i >= unary_params.n) { return; }
  let count = unary_params.shape[0][1];
  let qr = div_mod(4u * i, count);
  let last = unary_params.n / count - 1u;
  let v = select(vec4<f32>(a[qr.x]), vec4<f32>(a[min(qr.x + 1u, last)]), vec4<u32>(0u, 1u, 2u, 3u) >= vec4<u32>(count - qr.y));
  unary_out4[i] = unary_params.alpha * v + unary_params.beta;
}
