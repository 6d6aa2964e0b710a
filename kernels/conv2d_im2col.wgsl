// im2col for a grouped convolution's grad-weight: the input values each output pixel meets
// through each tap, laid out so that grad-weight becomes a batch of matrix products
// (src/ops/conv2d/im2col.ts runs them on kernels/matmul_subgroup.wgsl):
//
//   col[g, n, ci, kh, kw, q] = x[n, g * cig + ci, oh * stride_h - pad_h + kh * dil_h, ow * stride_w - pad_w + kw * dil_w]
//
// for output pixel q = oh * W_out + ow, 0 where that leaves the image and for q past the
// output plane, which the host pads to whole vec4s (PLANE). Group-major, so that one
// product per group runs over its images' blocks one after another; within a block the
// rows are (ci, kh, kw), the weight's own order.
//
// Why: on lavapipe the direct grad-weight kernels reload the input for every block of
// output channels and sum few products per load; the subgroup matmul reads each operand
// once per tile and shares it by shuffle. Each invocation writes one vec4 of col.
//
// regroup: dy's planes, padded to PLANE, in group-major order,
//   dyg[g, n, co, q] = dy[n, g * cog + co, q]  (0 for q past the output plane),
// so that one product per group sums over the images (matmul_subgroup's per_output) and no
// per-image partial sums need adding up.

// @contract (ConvParams: generated from src/ops/conv2d/geometry.ts)

override WG: u32 = 256u;
override KH: u32 = 3u;
override KW: u32 = 3u;
// Output pixels per (image, channel, tap) row of col: H_out * W_out rounded up to a vec4.
override PLANE: u32;
// The output's width, a group's channels and the batch: constants, so that dividing
// by them is a multiply (CPU adapters divide a vector of integers one lane at a time).
override W_OUT: u32;
override CIG: u32;
override COG: u32;
override BATCH: u32;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> col: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: ConvParams;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let per_row = PLANE / 4u;
  let taps = KH * KW;
  if (i >= p.N * p.C_in * taps * per_row) { return; }
  let row = i / per_row;
  let q0 = (i % per_row) * 4u;
  let tap = row % taps;
  // Row (g, n, ci, tap): image n's channel g * cig + ci, its plane in x.
  let ci = row / taps % CIG;
  let n = row / taps / CIG % BATCH;
  let g = row / taps / CIG / BATCH;
  let plane = (n * p.C_in + g * CIG + ci) * p.H * p.W;
  let dh = i32(tap / KW * p.dil_h) - i32(p.pad_h);
  let dw = i32(tap % KW * p.dil_w) - i32(p.pad_w);
  var v = vec4<f32>();
  for (var e = 0u; e < 4u; e++) {
    let q = q0 + e;
    let ih = i32(q / W_OUT * p.stride_h) + dh;
    let iw = i32(q % W_OUT * p.stride_w) + dw;
    if (q < p.H_out * W_OUT && ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W)) {
      v[e] = x[plane + u32(ih) * p.W + u32(iw)];
    }
  }
  col[i] = v;
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dyg: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn regroup(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let per_row = PLANE / 4u;
  if (i >= p.N * p.C_out * per_row) { return; }
  let q0 = (i % per_row) * 4u;
  // Row r of dyg is (g, n, co).
  let r = i / per_row;
  let co = r % COG;
  let n = r / COG % BATCH;
  let g = r / COG / BATCH;
  let pixels = p.H_out * W_OUT;
  let src = (n * p.C_out + g * COG + co) * pixels;
  var v = vec4<f32>();
  for (var e = 0u; e < 4u; e++) {
    if (q0 + e < pixels) { v[e] = dy[src + q0 + e]; }
  }
  dyg[i] = v;
}
