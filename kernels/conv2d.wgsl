// Grouped 2-D convolution over NCHW f32 tensors, PyTorch semantics (stride, padding,
// dilation, groups). One dispatch covers every group.
//
//   pack_weights: w [C_out, C_in/groups, kH, kW] -> vec4 blocks of 4 output channels (or,
//                 with TRANSPOSE, of 4 input channels), zero past a group's end, so one
//                 load fetches the weights of four channels.
//   forward:      y[n, co, oh, ow]  = bias[co] + sum_{ci in group, kh, kw} w[co, ci, kh, kw] x[n, ci, ih, iw]
//   grad_input:   dx[n, ci, ih, iw] = sum_{co in group, kh, kw} w[co, ci, kh, kw] dy[n, co, oh, ow]
//   grad_weight:  partial[chunk, co, j] = sum over the chunk's (n, oh) rows and all ow of
//                 dy[n, co, oh, ow] x[n, ci, ih, iw], with j = ci_local * kH * kW + tap;
//                 the host sums the chunks (reduce.wgsl), splitting the N*H*W reduction.
// where ih = oh * stride_h - pad_h + kh * dil_h (and likewise for w).
//
// Kernel size, stride and dilation are override constants, so the tap loops unroll and
// the row window below lives in registers. forward and grad_input give each invocation 4
// channels x PX consecutive pixels of one row; the input values a row of taps needs are
// loaded once into a window and reused by every tap and pixel that reads them. On CPU
// adapters (lavapipe) each load costs far more than an FMA, so this reuse is the speed.
// Padded coordinates are computed in i32; out-of-range reads are clamped and masked to 0.

// @contract (ConvParams, PX_MAX, WIN_MAX: generated from src/ops/conv2d/geometry.ts and variant.ts)

override WG: u32 = 64u;
override HAS_BIAS: bool = false;
override TRANSPOSE: bool = false;
// pack_weights: input and output channels per group. As constants, its divisions by them
// compile to multiplies, not a division per lane (30% off packing ResNeXt-50 stage 4's).
override PACK_CIG: u32 = 1u;
override PACK_COG: u32 = 1u;
override KH: u32 = 3u;
override KW: u32 = 3u;
override STRIDE_H: u32 = 1u;
override STRIDE_W: u32 = 1u;
override DIL_H: u32 = 1u;
override DIL_W: u32 = 1u;
// Pixels per invocation along a row, at most PX_MAX (the contract: the sums' array).
override PX: u32 = 8u;
// forward (grad_input): rows of x (dy) are whole vec4s, stride 1 and PX % 4 == 0, so the
// row window is read as a few vec4s (a vec4 load costs about 1.3 scalar loads on CPU
// adapters); PAD_W then fixes where the window starts within its first vec4. grad_input
// with a stride > 1 sets PAD_W too: it fixes which taps of a pixel meet a sample.
override ALIGNED: bool = false;
override PAD_W: u32 = 0u;
// The input columns one row of taps reads for PX pixels: windowed when it fits in WIN_MAX
// (the contract).
override FORWARD_WIN: u32 = (PX - 1u) * STRIDE_W + (KW - 1u) * DIL_W + 1u;
override GRAD_WIN: u32 = PX + (KW - 1u) * DIL_W;

// pack_weights: w_src (0), w_packed (1), params (2)
@group(0) @binding(0) var<storage, read> w_src: array<f32>;
@group(0) @binding(1) var<storage, read_write> w_packed: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> pp: ConvParams;
// forward: x (0), packed weights (1), bias (2), y (3), params (4)
// grad_input: dy (0), transposed packed weights (1), dx (2), params (3)
// Both read the rows of their input at binding 0 as vec4s, through in_at and in_chunk.
@group(0) @binding(0) var<storage, read> input4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> wp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: ConvParams;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> pi: ConvParams;
// grad_weight: x (0), dy (1), partial (2), params (3)
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

const LANE = vec4<i32>(0, 1, 2, 3);

@compute @workgroup_size(WG)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
  let cog = PACK_COG;
  let cig = PACK_CIG;
  let taps = KH * KW;
  // Without TRANSPOSE a block is 4 output channels; with it, 4 input channels.
  let block_of = select(cog, cig, TRANSPOSE);
  let other = select(cig, cog, TRANSPOSE);
  let blocks = (block_of + 3u) / 4u;
  let per_block = other * taps;
  if (gid.x >= pp.groups * blocks * per_block) { return; }
  let b = gid.x / per_block;
  let rest = gid.x % per_block;
  let g = b / blocks;
  let first = (b % blocks) * 4u;
  let o = rest / taps;
  let tap = rest % taps;
  var v = vec4<f32>();
  for (var c = 0u; c < 4u; c++) {
    if (first + c < block_of) {
      let co = g * cog + select(first + c, o, TRANSPOSE);
      let ci = select(o, first + c, TRANSPOSE);
      v[c] = w_src[(co * cig + ci) * taps + tap];
    }
  }
  w_packed[gid.x] = v;
}

// The input (x or dy) at row offset `row`, column `col`; 0 outside [0, width).
fn in_at(row: u32, col: i32, width: u32) -> f32 {
  let i = row + u32(clamp(col, 0, i32(width) - 1));
  return select(0.0, input4[i / 4u][i % 4u], col >= 0 && col < i32(width));
}

// floor(a / b) for b > 0 (WGSL's i32 division truncates toward zero).
fn floor_div(a: i32, b: i32) -> i32 {
  return (a - ((a % b) + b) % b) / b;
}

// The vec4 of the input's row `row` (a multiple of 4) holding columns [4 * chunk, 4 * chunk + 4), or 0s outside the row.
fn in_chunk(row: u32, chunk: i32, width: u32) -> vec4<f32> {
  let chunks = i32(width / 4u);
  return select(vec4<f32>(), input4[row / 4u + u32(clamp(chunk, 0, chunks - 1))], chunk >= 0 && chunk < chunks);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blocks_w = (p.W_out + PX - 1u) / PX;
  if (gid.x >= blocks_w * p.H_out * p.N) { return; }
  let n = gid.x / (blocks_w * p.H_out);
  let oh = (gid.x / blocks_w) % p.H_out;
  let ow0 = (gid.x % blocks_w) * PX;
  let cog = p.C_out / p.groups;
  let cig = p.C_in / p.groups;
  let blocks_c = (cog + 3u) / 4u;
  let g = gid.y / blocks_c;
  let co0 = g * cog + (gid.y % blocks_c) * 4u;
  let co_end = (g + 1u) * cog;
  let w_block = gid.y * cig * KH * KW;
  let ih0 = i32(oh * STRIDE_H) - i32(p.pad_h);
  let iw0 = i32(ow0 * STRIDE_W) - i32(p.pad_w);
  var acc: array<vec4<f32>, PX_MAX>;
  for (var ci = 0u; ci < cig; ci++) {
    let plane = (n * p.C_in + g * cig + ci) * p.H * p.W;
    for (var kh = 0u; kh < KH; kh++) {
      let ih = ih0 + i32(kh * DIL_H);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let row = plane + u32(ih) * p.W;
      var win: array<f32, WIN_MAX>;
      if (ALIGNED) {
        // iw0 = ow0 - PAD_W with ow0 a multiple of 4: the window starts LEAD columns into a chunk.
        let lead = (4u - PAD_W % 4u) % 4u;
        let first_chunk = (iw0 - i32(lead)) / 4;
        var chunks: array<vec4<f32>, 8>;
        for (var v = 0u; v < (lead + FORWARD_WIN + 3u) / 4u; v++) { chunks[v] = in_chunk(row, first_chunk + i32(v), p.W); }
        for (var t = 0u; t < FORWARD_WIN; t++) { win[t] = chunks[(lead + t) / 4u][(lead + t) % 4u]; }
      } else if (FORWARD_WIN <= WIN_MAX) {
        for (var t = 0u; t < FORWARD_WIN; t++) { win[t] = in_at(row, iw0 + i32(t), p.W); }
      }
      for (var kw = 0u; kw < KW; kw++) {
        let wv = wp[w_block + (ci * KH + kh) * KW + kw];
        for (var j = 0u; j < PX; j++) {
          let t = j * STRIDE_W + kw * DIL_W;
          var xv: f32;
          if (FORWARD_WIN <= WIN_MAX) { xv = win[t]; } else { xv = in_at(row, iw0 + i32(t), p.W); }
          acc[j] += xv * wv;
        }
      }
    }
  }
  for (var c = 0u; c < 4u; c++) {
    let co = co0 + c;
    if (co >= co_end) { break; }
    var b = 0.0;
    if (HAS_BIAS) { b = bias[co]; }
    let out_row = ((n * p.C_out + co) * p.H_out + oh) * p.W_out;
    for (var j = 0u; j < PX; j++) {
      if (ow0 + j < p.W_out) { y[out_row + ow0 + j] = acc[j][c] + b; }
    }
  }
}

@compute @workgroup_size(WG)
fn grad_input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blocks_w = (pi.W + PX - 1u) / PX;
  if (gid.x >= blocks_w * pi.H * pi.N) { return; }
  let n = gid.x / (blocks_w * pi.H);
  let ih = (gid.x / blocks_w) % pi.H;
  let iw0 = (gid.x % blocks_w) * PX;
  let cog = pi.C_out / pi.groups;
  let cig = pi.C_in / pi.groups;
  let blocks_c = (cig + 3u) / 4u;
  let g = gid.y / blocks_c;
  let cl0 = (gid.y % blocks_c) * 4u; // first input channel of the block, within the group
  let w_block = gid.y * cog * KH * KW;
  // Output column read by pixel j and tap kw, before dividing by the stride:
  // ow_num = iw0 + j + pad_w - kw * DIL_W. With stride 1 all of them fall in a window
  // starting at iw0 + pad_w - (KW - 1) * DIL_W.
  let base = i32(iw0 + pi.pad_w);
  let win0 = base - i32((KW - 1u) * DIL_W);
  let windowed = STRIDE_W == 1u && GRAD_WIN <= WIN_MAX;
  // Stride > 1 with PX a multiple of it and PAD_W set: the output columns the taps read
  // form a window [w0 + lo, w0 + hi] with lo, hi and each tap's place in it constants.
  let stride_windowed = STRIDE_W > 1u && PX % STRIDE_W == 0u;
  let lo = floor_div(i32(PAD_W) - i32((KW - 1u) * DIL_W), i32(STRIDE_W));
  let hi = floor_div(i32(PAD_W + PX) - 1, i32(STRIDE_W));
  let w0 = i32(iw0 / STRIDE_W);
  var acc: array<vec4<f32>, PX_MAX>;
  for (var col = 0u; col < cog; col++) {
    let plane = (n * pi.C_out + g * cog + col) * pi.H_out * pi.W_out;
    for (var kh = 0u; kh < KH; kh++) {
      let oh_num = i32(ih + pi.pad_h) - i32(kh * DIL_H);
      if (oh_num < 0 || oh_num % i32(STRIDE_H) != 0) { continue; }
      let oh = u32(oh_num) / STRIDE_H;
      if (oh >= pi.H_out) { continue; }
      let row = plane + oh * pi.W_out;
      var win: array<f32, WIN_MAX>;
      if (ALIGNED && windowed) {
        let lead = u32(((i32(PAD_W) - i32((KW - 1u) * DIL_W)) % 4 + 4) % 4);
        let first_chunk = (win0 - i32(lead)) / 4;
        var chunks: array<vec4<f32>, 8>;
        for (var v = 0u; v < (lead + GRAD_WIN + 3u) / 4u; v++) { chunks[v] = in_chunk(row, first_chunk + i32(v), pi.W_out); }
        for (var t = 0u; t < GRAD_WIN; t++) { win[t] = chunks[(lead + t) / 4u][(lead + t) % 4u]; }
      } else if (windowed) {
        for (var t = 0u; t < GRAD_WIN; t++) { win[t] = in_at(row, win0 + i32(t), pi.W_out); }
      } else if (stride_windowed) {
        for (var t = 0; t <= hi - lo; t++) { win[t] = in_at(row, w0 + lo + t, pi.W_out); }
      }
      for (var kw = 0u; kw < KW; kw++) {
        let wv = wp[w_block + (col * KH + kh) * KW + kw];
        for (var j = 0u; j < PX; j++) {
          var v: f32;
          if (windowed) {
            v = win[j + (KW - 1u - kw) * DIL_W];
          } else if (stride_windowed) {
            let num = i32(PAD_W + j) - i32(kw * DIL_W);
            v = select(0.0, win[floor_div(num, i32(STRIDE_W)) - lo], num % i32(STRIDE_W) == 0);
          } else {
            let ow_num = base + i32(j) - i32(kw * DIL_W);
            let ok = ow_num >= 0 && ow_num % i32(STRIDE_W) == 0;
            v = select(0.0, in_at(row, ow_num / i32(STRIDE_W), pi.W_out), ok);
          }
          acc[j] += v * wv;
        }
      }
    }
  }
  for (var c = 0u; c < 4u; c++) {
    if (cl0 + c >= cig) { break; }
    let in_row = ((n * pi.C_in + g * cig + cl0 + c) * pi.H + ih) * pi.W;
    for (var j = 0u; j < PX; j++) {
      if (iw0 + j < pi.W) { dx[in_row + iw0 + j] = acc[j][c]; }
    }
  }
}

@compute @workgroup_size(WG)
fn grad_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let cog = pi.C_out / pi.groups;
  let cig = pi.C_in / pi.groups;
  let taps = KH * KW;
  let cols = cig * taps;
  let blocks_j = (cols + 3u) / 4u;
  let blocks_co = (cog + 3u) / 4u;
  if (gid.x >= blocks_j * blocks_co * pi.groups) { return; }
  let j0 = (gid.x % blocks_j) * 4u;
  let cob = gid.x / blocks_j;
  let g = cob / blocks_co;
  let co0 = g * cog + (cob % blocks_co) * 4u;
  let co_last = (g + 1u) * cog - 1u;
  // Per column j: its input channel's plane offset and its tap's offsets in the input.
  let jv = min(vec4<u32>(j0) + vec4<u32>(LANE), vec4<u32>(cols - 1u));
  let ci = g * cig + jv / taps;
  let kh = (jv % taps) / KW;
  let kw = jv % KW;
  let dh = vec4<i32>(kh * DIL_H) - i32(pi.pad_h);
  let dw = vec4<i32>(kw * DIL_W) - i32(pi.pad_w);
  let d0 = min(co0, co_last);
  let d1 = min(co0 + 1u, co_last);
  let d2 = min(co0 + 2u, co_last);
  let d3 = min(co0 + 3u, co_last);
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  let rows = pi.N * pi.H_out;
  let first = gid.z * pi.rows_per_chunk;
  let last = min(first + pi.rows_per_chunk, rows);
  for (var r = first; r < last; r++) {
    let n = r / pi.H_out;
    let oh = r % pi.H_out;
    let ih = i32(oh * STRIDE_H) + dh;
    let row_ok = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(pi.H)));
    let x_row = (n * pi.C_in + ci) * pi.H * pi.W + vec4<u32>(clamp(ih, vec4<i32>(0), vec4<i32>(i32(pi.H) - 1))) * pi.W;
    let dy_row = n * pi.C_out * pi.H_out * pi.W_out + oh * pi.W_out;
    let plane = pi.H_out * pi.W_out;
    for (var ow = 0u; ow < pi.W_out; ow++) {
      let iw = i32(ow * STRIDE_W) + dw;
      let valid = row_ok & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(pi.W)));
      let c = x_row + vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(pi.W) - 1)));
      let xv = select(vec4<f32>(), vec4<f32>(x[c.x], x[c.y], x[c.z], x[c.w]), valid);
      let o = dy_row + ow;
      acc0 += dy_w[o + d0 * plane] * xv;
      acc1 += dy_w[o + d1 * plane] * xv;
      acc2 += dy_w[o + d2 * plane] * xv;
      acc3 += dy_w[o + d3 * plane] * xv;
    }
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  let chunk_base = gid.z * pi.C_out * cols;
  for (var c = 0u; c < 4u; c++) {
    let co = co0 + c;
    if (co > co_last) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (j0 + j < cols) { partial[chunk_base + co * cols + j0 + j] = accs[c][j]; }
    }
  }
}
