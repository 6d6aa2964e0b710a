// conv2d grad-weight for stride-1 "same" convolutions of at most 3x3, and 3x3 ones of
// stride 2 with padding 1, on rows of whole vec4s, with a subgroup's lanes on input
// channels rather than on pixels:
//
//   partial[s, co, ci_local, kh, kw] = sum over the output rows oh of chunk s, and their
//                                      columns ow, of dy[n, co, oh, ow] x[n, ci, ih, iw]
//
// where ih = STRIDE * oh + kh - PAD_H, iw = STRIDE * ow + kw - PAD_W, reads leaving the
// image are 0, and the host sums over s.
//
// Why this shape: on CPU adapters (lavapipe) every per-invocation storage load costs as
// much as dozens of FMAs, a subgroup shuffle about one. kernels/conv2d_subgroup.wgsl's
// grad_weight gives each lane its own 4 pixels and so loads dy once per output channel
// for every input channel of the group. Here the lanes of a subgroup take CI_T input
// channels (and SG / CI_T rows, one per part) and walk their row 4 pixels at a time:
// - dy at those pixels is the same for every lane of a part, so its lanes load one output
//   channel's vec4 each and pass them round by shuffle;
// - each lane keeps its own input rows' windows from step to step, loading only the
//   STRIDE vec4s that come into them: STRIDE * KH loads a step.
// So a step loads STRIDE * KH + ceil(CO_T / CI_T) vec4s a lane for CO_T x KH x KW dot
// products, where the pixel-lane kernel loads 4 * COB + KH (and their halos) for
// 4 * COB x KH x KW.
enable subgroups;
// Loop bounds come from the subgroup's index (gid.x / SG), the same on all its lanes
// (workgroups are whole subgroups), which WGSL's uniformity analysis cannot see.
diagnostic(off, subgroup_uniformity);

// @contract (ConvParams, SUMS_MAX, DY_MAX: generated from src/ops/conv2d/geometry.ts and wgrad_lanes.ts)

override WG: u32 = 64u;
// The adapter's fixed subgroup size, a power of two.
override SG: u32 = 8u;
// dy's and x's row widths, multiples of 4 (the host pads rows that are not). The window
// reads x up to column STRIDE * WIDTH; columns from X_WIDTH on are the right padding.
override WIDTH: u32;
override STRIDE: u32 = 1u;
override X_WIDTH: u32;
// Kernel size, 1 or 3 each way, with "same" padding (stride 2: 3x3, padding 1).
override KH: u32 = 3u;
override KW: u32 = 3u;
// Input channels a subgroup covers at once (lane l takes l % CI_T), a power of two that
// divides SG: the lanes l / CI_T (parts) walk that many rows side by side.
override CI_T: u32 = 8u;
// Output channels a lane sums for: CO_T * KH * KW sums, at most SUMS_MAX (the contract).
override CO_T: u32 = 8u;

override PAD_H: u32 = KH / 2u;
override PAD_W: u32 = KW / 2u;
// 4-pixel steps along a row of dy.
override CHUNKS: u32 = WIDTH / 4u;
override PARTS: u32 = SG / CI_T;
// dy vec4s a lane loads for its part each step: ceil(CO_T / CI_T), at most DY_MAX.
override DY_LOADS: u32 = (CO_T + CI_T - 1u) / CI_T;

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> p: ConvParams;

// Sum (c, kh, kw) at (c * KH + kh) * KW + kw.
var<private> sums: array<f32, SUMS_MAX>;
// This lane's share of its part's dy: output channel j * CI_T + l % CI_T in slot j.
var<private> dys: array<vec4<f32>, DY_MAX>;
// Input row kh of the window, 12 values from 4 before the 4 * STRIDE columns the lane's
// 4 output pixels start at: win[3 kh] the vec4 before them, win[3 kh + 1] and
// win[3 kh + 2] the two from there (stride 1: the lane's own and the one after).
var<private> win: array<vec4<f32>, 9>;

// The 4 values tap (kh, kw) reads for the lane's 4 output pixels: pixel j reads value
// STRIDE * j + kw - PAD_W of the window's last 8 (a constant once the loops unroll).
fn tap(kh: u32, kw: u32) -> vec4<f32> {
  var v: vec4<f32>;
  for (var j = 0u; j < 4u; j++) {
    let at = i32(STRIDE * j + kw) - i32(PAD_W);
    if (at < 0) { v[j] = win[3u * kh][at + 4]; } else if (at < 4) { v[j] = win[3u * kh + 1u][at]; } else { v[j] = win[3u * kh + 2u][at - 4]; }
  }
  return v;
}

// Vec4 k of input row `row` (offset of its first value), or 0 past the row or outside the
// image (`inside`). Loaded only inside: lavapipe loads lane by lane and skips inactive
// lanes. First measured 5-21% faster than a load and a select, this is within -4% to +8% of
// it with warm pipelines (min of 20, docs/kernels.md), and loads less where lanes idle.
fn load_x(row: u32, k: u32, inside: bool) -> vec4<f32> {
  var v: vec4<f32>;
  if (k < X_WIDTH / 4u && inside) { v = x4[row / 4u + k]; }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let cig = p.C_in / p.groups;
  let cog = p.C_out / p.groups;
  let ci_tiles = (cig + CI_T - 1u) / CI_T;
  let co_tiles = (cog + CO_T - 1u) / CO_T;
  let plane = p.H_out * WIDTH;
  let x_plane_size = p.H * X_WIDTH;
  let rows = p.N * p.H_out;
  let steps = (rows + PARTS - 1u) / PARTS;
  let chunks = (steps + p.rows_per_chunk - 1u) / p.rows_per_chunk;
  let t = (gid.x + gid.y * nwg.x * WG) / SG;
  // Whole subgroups leave here (t is the same over a subgroup's lanes).
  if (t >= chunks * p.groups * co_tiles * ci_tiles) { return; }
  let s = t % chunks;
  let tile = t / chunks;
  let g = tile / (co_tiles * ci_tiles);
  let co0 = (tile / ci_tiles) % co_tiles * CO_T;
  let ci = tile % ci_tiles * CI_T + lane % CI_T;
  let part = lane / CI_T;
  for (var step = s * p.rows_per_chunk; step < min((s + 1u) * p.rows_per_chunk, steps); step++) {
    let r = step * PARTS + part;
    let live = r < rows;
    let n = min(r, rows - 1u) / p.H_out;
    let h = min(r, rows - 1u) % p.H_out;
    // This lane's input rows STRIDE * h + kh - PAD_H, as offsets, and which lie in the image.
    let x_plane = (n * p.C_in + g * cig + min(ci, cig - 1u)) * x_plane_size;
    var x_row: array<u32, 3>;
    var x_in: array<bool, 3>;
    for (var kh = 0u; kh < KH; kh++) {
      let ih = i32(STRIDE * h + kh) - i32(PAD_H);
      x_in[kh] = ih >= 0 && ih < i32(p.H);
      x_row[kh] = x_plane + u32(clamp(ih, 0, i32(p.H) - 1)) * X_WIDTH;
      win[3u * kh] = vec4<f32>();
      win[3u * kh + 1u] = load_x(x_row[kh], 0u, x_in[kh]);
      win[3u * kh + 2u] = load_x(x_row[kh], 1u, x_in[kh]);
    }
    // Where this lane's share of dy starts: output channel co0 + j * CI_T + l % CI_T, row h.
    let dy_row = (n * p.C_out + g * cog) * plane + h * WIDTH;
    for (var k = 0u; k < CHUNKS; k++) {
      for (var j = 0u; j < DY_LOADS; j++) {
        let c = co0 + j * CI_T + lane % CI_T;
        let v = dy4[(dy_row + min(c, cog - 1u) * plane) / 4u + k];
        dys[j] = select(vec4<f32>(), v, live && c < cog && j * CI_T + lane % CI_T < CO_T);
      }
      for (var c = 0u; c < CO_T; c++) {
        // Output channel co0 + c of this part's row: slot c / CI_T of lane part * CI_T + c % CI_T.
        let d = subgroupShuffle(dys[c / CI_T], part * CI_T + c % CI_T);
        for (var kh = 0u; kh < KH; kh++) {
          for (var kw = 0u; kw < KW; kw++) { sums[(c * KH + kh) * KW + kw] += dot(d, tap(kh, kw)); }
        }
      }
      // Slide the window STRIDE vec4s along the row.
      for (var kh = 0u; kh < KH; kh++) {
        if (STRIDE == 1u) {
          win[3u * kh] = win[3u * kh + 1u];
          win[3u * kh + 1u] = win[3u * kh + 2u];
          win[3u * kh + 2u] = load_x(x_row[kh], k + 2u, x_in[kh]);
        } else {
          win[3u * kh] = win[3u * kh + 2u];
          win[3u * kh + 1u] = load_x(x_row[kh], 2u * k + 2u, x_in[kh]);
          win[3u * kh + 2u] = load_x(x_row[kh], 2u * k + 3u, x_in[kh]);
        }
      }
    }
  }
  let taps = KH * KW;
  let out_base = s * p.C_out * cig * taps;
  for (var c = 0u; c < CO_T; c++) {
    for (var i = 0u; i < taps; i++) {
      // The parts' sums of the same (output, input) channel pair, added across parts.
      var total = sums[c * taps + i];
      for (var other = CI_T; other < SG; other *= 2u) { total += subgroupShuffleXor(total, other); }
      if (part == 0u && co0 + c < cog && ci < cig) {
        partial[out_base + ((g * cog + co0 + c) * cig + ci) * taps + i] = total;
      }
    }
  }
}
