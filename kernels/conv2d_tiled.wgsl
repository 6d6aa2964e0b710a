// Grouped 2-D convolution over NCHW f32 as workgroup-tiled implicit GEMMs, the shape
// discrete GPUs want (cheap workgroup memory and barriers). Per group g (one dispatch
// covers every group: g is part of the workgroup's tile index), with taps = kH * kW:
//
//   forward:     y[n, co, oh, ow] = bias[co] + sum_K W[co, K] im2col(x)[K, (n, oh, ow)]
//                rows co (cog), columns (n, oh, ow), depth K = (ci, kh, kw) (cig * taps)
//   grad_input:  dx[n, ci, ih, iw] = sum_(co, kh, kw) W[co, ci, kh, kw] dy[n, co, oh, ow]
//                rows ci (cig), columns (n, ih, iw), depth (co, kh, kw) (cog * taps); the
//                gather form: oh = (ih + pad_h - kh * dil_h) / stride_h where that divides
//                exactly and lands inside dy, else the tap adds nothing
//   grad_weight: partial[chunk, co, (ci, kh, kw)] = sum over the chunk's (n, oh, ow) of
//                dy[n, co, oh, ow] x[n, ci, ih, iw]
//                rows co (cog), columns (ci, kh, kw) (cig * taps), depth (n, oh, ow) split
//                into chunks of depth_per_chunk along the grid's z; the host adds the chunks
//
// where ih = oh * stride_h - pad_h + kh * dil_h (likewise for w); reads outside the image
// are 0. A workgroup computes a BM x BN tile of the product: per step of BK along the
// depth, it loads a BM x BK tile of the left operand and a BK x BN tile of the right one
// into workgroup memory (im2col and the gather done while loading), then each invocation
// accumulates a BLOCK x BLOCK block of outputs from them, reading BLOCK values of each
// tile per depth step for BLOCK * BLOCK FMAs. An invocation's rows and columns are
// BM / BLOCK (BN / BLOCK) apart, so neighbouring invocations read neighbouring words of
// a tile and store neighbouring outputs. Sizes come from the uniform, not overrides: only
// the tile shape specialises a pipeline, so few pipelines cover every geometry.

// @contract (TiledConvParams, BLOCK: generated from src/ops/conv2d/tiled.ts)

// The tile: BM rows x BN columns of the product, BK depth steps per load; powers of two,
// BM and BN multiples of BLOCK, chosen by the host within the default limits (256
// invocations, 16 KiB of workgroup memory).
override BM: u32 = 32u;
override BN: u32 = 32u;
override BK: u32 = 16u;
override WG: u32 = (BM / BLOCK) * (BN / BLOCK);
override A_TILE: u32 = BK * BM;
override B_TILE: u32 = BK * BN;

// The accumulators hold a block as BLOCK vec4s.
const_assert BLOCK == 4u;

const ROLE_FORWARD = 0u;
const ROLE_GRAD_INPUT = 1u;
const ROLE_GRAD_WEIGHT = 2u;

// forward: weights (0), x (1), bias (2), y (3); grad_input: weights (0), dy (1), unused
// (2), dx (3); grad_weight: dy (0), x (1), unused (2), partial sums (3). Params at 4.
@group(0) @binding(0) var<storage, read> a_src: array<f32>;
@group(0) @binding(1) var<storage, read> b_src: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: TiledConvParams;

// Stored depth-major: a_tile[k * BM + m], b_tile[k * BN + n].
var<workgroup> a_tile: array<f32, A_TILE>;
var<workgroup> b_tile: array<f32, B_TILE>;

fn cig() -> u32 { return p.C_in / p.groups; }
fn cog() -> u32 { return p.C_out / p.groups; }
fn taps() -> u32 { return p.kH * p.kW; }

// x[n, c, ih, iw] (binding 1 in forward and grad_weight), 0 outside the image.
fn x_at(n: u32, c: u32, ih: i32, iw: i32) -> f32 {
  if (ih < 0 || iw < 0 || ih >= i32(p.H) || iw >= i32(p.W)) { return 0.0; }
  return b_src[((n * p.C_in + c) * p.H + u32(ih)) * p.W + u32(iw)];
}

// im2col(x)[(ci, tap), (n, pixel)] of group g: x read by output pixel `pixel` through tap.
fn im2col(g: u32, ci: u32, tap: u32, n: u32, pixel: u32) -> f32 {
  let oh = pixel / p.W_out;
  let ow = pixel % p.W_out;
  let ih = i32(oh * p.stride_h + (tap / p.kW) * p.dil_h) - i32(p.pad_h);
  let iw = i32(ow * p.stride_w + (tap % p.kW) * p.dil_w) - i32(p.pad_w);
  return x_at(n, g * cig() + ci, ih, iw);
}

// dy[n, g * cog + co, oh, ow] that input pixel `pixel` (ih, iw) receives through tap, or 0
// where the tap falls between output samples or outside dy (binding 1).
fn gathered_dy(g: u32, co: u32, tap: u32, n: u32, pixel: u32) -> f32 {
  let oh_num = i32(pixel / p.W + p.pad_h) - i32((tap / p.kW) * p.dil_h);
  let ow_num = i32(pixel % p.W + p.pad_w) - i32((tap % p.kW) * p.dil_w);
  if (oh_num < 0 || ow_num < 0) { return 0.0; }
  let sh = i32(p.stride_h);
  let sw = i32(p.stride_w);
  if (oh_num % sh != 0 || ow_num % sw != 0) { return 0.0; }
  let oh = u32(oh_num / sh);
  let ow = u32(ow_num / sw);
  if (oh >= p.H_out || ow >= p.W_out) { return 0.0; }
  return b_src[((n * p.C_out + g * cog() + co) * p.H_out + oh) * p.W_out + ow];
}

// The left operand at row m, depth k of group g: 0 past the rows or the chunk's depth.
fn load_a(role: u32, g: u32, m: u32, k: u32, k_end: u32) -> f32 {
  if (m >= p.rows || k >= k_end) { return 0.0; }
  if (role == ROLE_FORWARD) {
    // W[g * cog + m, k], k = ci * taps + tap: the weight's own layout.
    return a_src[(g * cog() + m) * p.depth + k];
  }
  if (role == ROLE_GRAD_INPUT) {
    // W[g * cog + co, m, tap] with k = co * taps + tap.
    return a_src[((g * cog() + k / taps()) * cig() + m) * taps() + k % taps()];
  }
  // dy[n, g * cog + m, pixel] with k = n * (H_out * W_out) + pixel.
  let plane = p.H_out * p.W_out;
  return a_src[((k / plane) * p.C_out + g * cog() + m) * plane + k % plane];
}

// The right operand at depth k, column col of group g: 0 past the columns or the chunk's depth.
fn load_b(role: u32, g: u32, k: u32, col: u32, k_end: u32) -> f32 {
  if (col >= p.cols || k >= k_end) { return 0.0; }
  if (role == ROLE_FORWARD) {
    let plane = p.H_out * p.W_out;
    return im2col(g, k / taps(), k % taps(), col / plane, col % plane);
  }
  if (role == ROLE_GRAD_INPUT) {
    let plane = p.H * p.W;
    return gathered_dy(g, k / taps(), k % taps(), col / plane, col % plane);
  }
  // grad_weight: depth is (n, output pixel), columns (ci, tap).
  let plane = p.H_out * p.W_out;
  return im2col(g, col / taps(), col % taps(), k / plane, k % plane);
}

// Fills both tiles for depth k0. Consecutive invocations take consecutive depths where the
// source runs along the depth (the left operand in every role: weights, taps of a weight
// row, dy's pixels; x's pixels in grad_weight), else consecutive columns (pixels).
fn load_tiles(role: u32, g: u32, row0: u32, col0: u32, k0: u32, k_end: u32, lid: u32) {
  for (var e = lid; e < A_TILE; e += WG) {
    let m = e / BK;
    let k = e % BK;
    a_tile[k * BM + m] = load_a(role, g, row0 + m, k0 + k, k_end);
  }
  for (var e = lid; e < B_TILE; e += WG) {
    var k = e / BN;
    var n = e % BN;
    if (role == ROLE_GRAD_WEIGHT) {
      k = e % BK;
      n = e / BK;
    }
    b_tile[k * BN + n] = load_b(role, g, k0 + k, col0 + n, k_end);
  }
}

// Where a workgroup's tile lies: its group, first row and column, and depth range.
struct Tile { live: bool, g: u32, row0: u32, col0: u32, k_begin: u32, k_end: u32 }

// Tiles run columns fastest, then rows, then groups, on a linear grid (wid.x + wid.y *
// nwg.x; the tail past the last tile is idle); z is grad_weight's chunk of the depth.
fn tile_of(wid: vec3<u32>, nwg: vec3<u32>) -> Tile {
  let col_tiles = (p.cols + BN - 1u) / BN;
  let row_tiles = (p.rows + BM - 1u) / BM;
  let linear = wid.x + wid.y * nwg.x;
  let k_begin = wid.z * p.depth_per_chunk;
  return Tile(
    linear < col_tiles * row_tiles * p.groups,
    linear / (col_tiles * row_tiles),
    (linear / col_tiles) % row_tiles * BM,
    linear % col_tiles * BN,
    k_begin,
    min(k_begin + p.depth_per_chunk, p.depth),
  );
}

// The product's tile, this invocation's block of it: acc[i][j] is row
// t.row0 + ty + i * (BM / BLOCK), column t.col0 + tx + j * (BN / BLOCK).
fn multiply(role: u32, t: Tile, lid: u32) -> array<vec4<f32>, BLOCK> {
  let ty = lid / (BN / BLOCK);
  let tx = lid % (BN / BLOCK);
  var acc: array<vec4<f32>, BLOCK>;
  for (var k0 = t.k_begin; k0 < t.k_end; k0 += BK) {
    load_tiles(role, t.g, t.row0, t.col0, k0, t.k_end, lid);
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var b: vec4<f32>;
      for (var j = 0u; j < BLOCK; j++) { b[j] = b_tile[k * BN + tx + j * (BN / BLOCK)]; }
      for (var i = 0u; i < BLOCK; i++) { acc[i] += a_tile[k * BM + ty + i * (BM / BLOCK)] * b; }
    }
    // The next step overwrites the tiles: everyone must have read them.
    workgroupBarrier();
  }
  return acc;
}

// Where output (row m, column col) of group g goes, per role.
fn out_index(role: u32, g: u32, m: u32, col: u32, chunk: u32) -> u32 {
  if (role == ROLE_FORWARD) {
    let plane = p.H_out * p.W_out;
    return ((col / plane) * p.C_out + g * cog() + m) * plane + col % plane;
  }
  if (role == ROLE_GRAD_INPUT) {
    let plane = p.H * p.W;
    return ((col / plane) * p.C_in + g * cig() + m) * plane + col % plane;
  }
  return (chunk * p.C_out + g * cog() + m) * p.cols + col;
}

fn run(role: u32, wid: vec3<u32>, nwg: vec3<u32>, lid: u32) {
  let t = tile_of(wid, nwg);
  // The whole workgroup leaves together (t.live is uniform), before any barrier.
  if (!t.live) { return; }
  let acc = multiply(role, t, lid);
  let ty = lid / (BN / BLOCK);
  let tx = lid % (BN / BLOCK);
  for (var i = 0u; i < BLOCK; i++) {
    let m = t.row0 + ty + i * (BM / BLOCK);
    if (m >= p.rows) { break; }
    var b = 0.0;
    if (role == ROLE_FORWARD && p.has_bias != 0u) { b = bias[t.g * cog() + m]; }
    for (var j = 0u; j < BLOCK; j++) {
      let col = t.col0 + tx + j * (BN / BLOCK);
      if (col < p.cols) { out[out_index(role, t.g, m, col, wid.z)] = acc[i][j] + b; }
    }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  run(ROLE_FORWARD, wid, nwg, lid);
}

@compute @workgroup_size(WG)
fn grad_input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  run(ROLE_GRAD_INPUT, wid, nwg, lid);
}

@compute @workgroup_size(WG)
fn grad_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  run(ROLE_GRAD_WEIGHT, wid, nwg, lid);
}
