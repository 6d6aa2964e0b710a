// Grouped 2-D convolution over NCHW f32 tensors, PyTorch semantics (stride, padding,
// dilation, groups). One dispatch covers every group.
//
//   forward:      y[n, co, oh, ow]  = bias[co] + sum_{ci in group, kh, kw} w[co, ci, kh, kw] x[n, ci, ih, iw]
//   grad_input:   dx[n, ci, ih, iw] = sum_{co in group, kh, kw} w[co, ci, kh, kw] dy[n, co, oh, ow]
//   grad_weight:  partial[chunk, co, j] = sum over the chunk's (n, oh) rows and all ow of
//                 dy[n, co, oh, ow] x[n, ci, ih, iw], with j = ci_local * kH * kW + tap;
//                 the host sums the chunks (reduce.wgsl), splitting the N*H*W reduction.
// where ih = oh * stride_h - pad_h + kh * dil_h (and likewise for w).
//
// Register blocking: each invocation owns 4 channels x 4 positions (16 accumulators), so
// every loaded weight is used 4 times and every loaded activation 4 times. Padded
// coordinates are computed in i32; out-of-range reads are clamped and masked to 0.

struct Params {
  N: u32, C_in: u32, H: u32, W: u32,
  C_out: u32, H_out: u32, W_out: u32, groups: u32,
  kH: u32, kW: u32, stride_h: u32, stride_w: u32,
  pad_h: u32, pad_w: u32, dil_h: u32, dil_w: u32,
  rows_per_chunk: u32,
}

override WG: u32 = 64u;
override HAS_BIAS: bool = false;

// forward
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;
// grad_input: dy (0), w (1), dx (2), params (3)
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> pi: Params;
// grad_weight: x (0), dy (1), partial (2), params (3)
@group(0) @binding(1) var<storage, read> dy_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

const LANE = vec4<i32>(0, 1, 2, 3);

// x[row + iw] where valid, else 0; the index is clamped so that no read leaves the row.
fn masked_x(row: u32, iw: vec4<i32>, width: u32) -> vec4<f32> {
  let valid = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(width)));
  let c = vec4<u32>(clamp(iw, vec4<i32>(0), vec4<i32>(i32(width) - 1)));
  return select(vec4<f32>(), vec4<f32>(x[row + c.x], x[row + c.y], x[row + c.z], x[row + c.w]), valid);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blocks_w = (p.W_out + 3u) / 4u;
  if (gid.x >= blocks_w * p.H_out) { return; }
  let oh = gid.x / blocks_w;
  let ow0 = (gid.x % blocks_w) * 4u;
  let cog = p.C_out / p.groups;
  let cig = p.C_in / p.groups;
  let blocks_c = (cog + 3u) / 4u;
  let g = gid.y / blocks_c;
  let co0 = g * cog + (gid.y % blocks_c) * 4u;
  let co_last = (g + 1u) * cog - 1u;
  let n = gid.z;
  let taps = p.kH * p.kW;
  let w_stride = cig * taps;
  // Channels past the group's end read the last channel's weights and are never stored.
  let w0 = min(co0, co_last) * w_stride;
  let w1 = min(co0 + 1u, co_last) * w_stride;
  let w2 = min(co0 + 2u, co_last) * w_stride;
  let w3 = min(co0 + 3u, co_last) * w_stride;
  let ih0 = i32(oh * p.stride_h) - i32(p.pad_h);
  let iw0 = i32(ow0 * p.stride_w) - i32(p.pad_w) + LANE * i32(p.stride_w);
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  for (var ci = 0u; ci < cig; ci++) {
    let plane = (n * p.C_in + g * cig + ci) * p.H * p.W;
    for (var kh = 0u; kh < p.kH; kh++) {
      let ih = ih0 + i32(kh * p.dil_h);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let row = plane + u32(ih) * p.W;
      for (var kw = 0u; kw < p.kW; kw++) {
        let xv = masked_x(row, iw0 + i32(kw * p.dil_w), p.W);
        let tap = ci * taps + kh * p.kW + kw;
        acc0 += w[w0 + tap] * xv;
        acc1 += w[w1 + tap] * xv;
        acc2 += w[w2 + tap] * xv;
        acc3 += w[w3 + tap] * xv;
      }
    }
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var c = 0u; c < 4u; c++) {
    let co = co0 + c;
    if (co > co_last) { break; }
    var b = 0.0;
    if (HAS_BIAS) { b = bias[co]; }
    let out_row = ((n * p.C_out + co) * p.H_out + oh) * p.W_out;
    for (var j = 0u; j < 4u; j++) {
      if (ow0 + j < p.W_out) { y[out_row + ow0 + j] = accs[c][j] + b; }
    }
  }
}

@compute @workgroup_size(WG)
fn grad_input(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blocks_w = (pi.W + 3u) / 4u;
  if (gid.x >= blocks_w * pi.H) { return; }
  let ih = gid.x / blocks_w;
  let iw0 = (gid.x % blocks_w) * 4u;
  let cog = pi.C_out / pi.groups;
  let cig = pi.C_in / pi.groups;
  let blocks_c = (cig + 3u) / 4u;
  let g = gid.y / blocks_c;
  let cl0 = (gid.y % blocks_c) * 4u; // first input channel, within the group
  let cl_last = cig - 1u;
  let n = gid.z;
  let taps = pi.kH * pi.kW;
  let c0 = min(cl0, cl_last) * taps;
  let c1 = min(cl0 + 1u, cl_last) * taps;
  let c2 = min(cl0 + 2u, cl_last) * taps;
  let c3 = min(cl0 + 3u, cl_last) * taps;
  let sw = i32(pi.stride_w);
  let ow_num0 = i32(iw0) + LANE + i32(pi.pad_w);
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  for (var col = 0u; col < cog; col++) {
    let co = g * cog + col;
    let plane = (n * pi.C_out + co) * pi.H_out * pi.W_out;
    let w_co = co * cig * taps;
    for (var kh = 0u; kh < pi.kH; kh++) {
      let oh_num = i32(ih + pi.pad_h) - i32(kh * pi.dil_h);
      if (oh_num < 0 || oh_num % i32(pi.stride_h) != 0) { continue; }
      let oh = u32(oh_num) / pi.stride_h;
      if (oh >= pi.H_out) { continue; }
      let row = plane + oh * pi.W_out;
      for (var kw = 0u; kw < pi.kW; kw++) {
        let ow_num = ow_num0 - i32(kw * pi.dil_w);
        let ow = ow_num / sw;
        let valid = (ow_num >= vec4<i32>(0)) & (ow_num % sw == vec4<i32>(0)) & (ow < vec4<i32>(i32(pi.W_out)));
        let c = vec4<u32>(clamp(ow, vec4<i32>(0), vec4<i32>(i32(pi.W_out) - 1)));
        let dv = select(vec4<f32>(), vec4<f32>(dy[row + c.x], dy[row + c.y], dy[row + c.z], dy[row + c.w]), valid);
        let tap = w_co + kh * pi.kW + kw;
        acc0 += w[tap + c0] * dv;
        acc1 += w[tap + c1] * dv;
        acc2 += w[tap + c2] * dv;
        acc3 += w[tap + c3] * dv;
      }
    }
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var c = 0u; c < 4u; c++) {
    if (cl0 + c > cl_last) { break; }
    let in_row = ((n * pi.C_in + g * cig + cl0 + c) * pi.H + ih) * pi.W;
    for (var j = 0u; j < 4u; j++) {
      if (iw0 + j < pi.W) { dx[in_row + iw0 + j] = accs[c][j]; }
    }
  }
}

@compute @workgroup_size(WG)
fn grad_weight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let cog = pi.C_out / pi.groups;
  let cig = pi.C_in / pi.groups;
  let taps = pi.kH * pi.kW;
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
  let kh = (jv % taps) / pi.kW;
  let kw = jv % pi.kW;
  let dh = vec4<i32>(kh * pi.dil_h) - i32(pi.pad_h);
  let dw = vec4<i32>(kw * pi.dil_w) - i32(pi.pad_w);
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
    let ih = i32(oh * pi.stride_h) + dh;
    let row_ok = (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(pi.H)));
    let x_row = (n * pi.C_in + ci) * pi.H * pi.W + vec4<u32>(clamp(ih, vec4<i32>(0), vec4<i32>(i32(pi.H) - 1))) * pi.W;
    let dy_row = n * pi.C_out * pi.H_out * pi.W_out + oh * pi.W_out;
    let plane = pi.H_out * pi.W_out;
    for (var ow = 0u; ow < pi.W_out; ow++) {
      let iw = i32(ow * pi.stride_w) + dw;
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
