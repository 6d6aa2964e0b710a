// Grouped 2-D "same" convolution (stride 1, dilation 1, output size = input size) over
// NCHW f32, with subgroups sharing the loads:
//
//   forward:     y[n, co, q] = bias[co] + sum_{ci in group, kh, kw} w[co, ci, kh, kw] x[n, ci, q + shift(kh, kw)]
//                (with the weights packed transposed and read mirrored, FLIP, this is grad-input)
//   grad_weight: partial[s, co, ci_local, kh, kw] = sum over the pixels q that subgroup s
//                covers of dy[n, co, q] x[n, ci, q + shift(kh, kw)]; the host sums over s.
//
// where q is a flattened pixel of a plane, shift(kh, kw) = (kh - PAD_H) * WIDTH + kw - PAD_W,
// and reads that leave the image are masked to 0.
//
// Why this shape: on CPU adapters (lavapipe) every per-invocation load from a storage
// buffer is a loop over the SIMD lanes and costs as much as dozens of FMAs, while a
// subgroup shuffle is a register permute. So an invocation owns 4 consecutive pixels of a
// plane (forward with ROWS = 2: the same 4 columns of two rows), loads the input those
// pixels need from each input row once (one vec4: where planes are not whole vec4s, the
// vec4 holding the first value, the rest coming from the neighbour's) and takes the halo
// its taps need from its neighbours' loads. forward loads a tap's weights once per
// subgroup, one vec4 per lane, and broadcasts them; grad_weight keeps the sums of a tile
// of weights per lane over its pixels and adds them across the subgroup at the end.
// Subgroups never straddle two planes (each plane's 4-pixel chunks are padded to a
// multiple of SG invocations), and are taken to be SG consecutive invocations, as on
// lavapipe and the usual GPUs (tests check it). Any fixed SG >= 4 works
// (src/ops/subgroup_plan.ts): halos come from lanes +-1 and edge lanes 0 and SG - 1 only,
// and workgroups are whole subgroups (the host runs WG = max(64, SG)).
enable subgroups;
// grad_weight's loop bounds come from gid.x / SG: the same for every lane of a subgroup
// (workgroups are whole subgroups), which WGSL's uniformity analysis cannot see.
diagnostic(off, subgroup_uniformity);

// @contract (ConvParams, CB_MAX, WL_MAX, COB_MAX, GACC_MAX: generated from src/ops/conv2d/geometry.ts and subgroup.ts)

override WG: u32 = 64u;
// The subgroup size the dispatch was planned for (the adapter's fixed size, at least 4).
override SG: u32 = 8u;
// Plane width: a constant, so a shift by whole rows is a known offset into a vec4 and the
// window is picked with constant indices.
override WIDTH: u32;
// The width of the input's rows as stored: WIDTH, or X_WIDTH = WIDTH - 2 with X_WIDTH % 4
// == 2, planes of whole vec4s and WHOLE_ROWS, rows read as if padded with zeros to WIDTH
// (subgroup-padded's geometry without its copy: conv2d_window.wgsl's padded_row_vec4).
override X_WIDTH: u32 = WIDTH;
// Planes are whole vec4s (H * WIDTH % 4 == 0): every load starts on a vec4.
override ALIGNED: bool = true;
override KH: u32 = 3u;
override KW: u32 = 3u;
override PAD_H: u32 = 1u;
override PAD_W: u32 = 1u;
override HAS_BIAS: bool = false;
// forward: 4-channel output blocks per invocation (the input window is reused CB times);
// CB * WREGS <= WL_MAX (the host caps CB).
override CB: u32 = 1u;
// Rows of whole vec4s that whole subgroups span (WIDTH divides a subgroup's 4 * SG pixels,
// as planes of 8, 16 or 32 columns at SG = 8): every subgroup starts on a row's first column
// and ends on a row's last, so the halo its edge lanes would load lies in the padding.
override WHOLE_ROWS: bool = WIDTH % 4u == 0u && (4u * SG) % WIDTH == 0u;
// forward on rows of whole vec4s (WIDTH % 4 == 0): output rows per invocation, the same 4
// columns of each. Two rows of a 3x3 kernel read 4 input rows, not 6: fewer loads per FMA.
override ROWS: u32 = 1u;
// forward_cropped: the width of y's rows, less than WIDTH (the padding columns dropped).
override Y_WIDTH: u32 = WIDTH;
// forward as grad-input: the weights are packed transposed; taps are read mirrored.
override FLIP: bool = false;
// forward: input channels whose weights one load covers: for 1x1 kernels min(SG, 32) (lane
// l loads the weights of channel ci + l; at most SG), else 1 (lane l loads tap l of channel ci).
override CI_STEP: u32 = 1u;
// grad_weight: the tile of weights a lane sums, 4 * COB output x CI_TILE input channels.
override COB: u32 = 1u;
override CI_TILE: u32 = 1u;
// forward's sums: ROWS * CB <= CB_MAX (the contract) blocks of 4 pixels.
// forward: weight vec4s per lane and output block. With CI_STEP = 1, lane l holds taps l,
// l + SG, ...: 2 for a 3x3 kernel at SG = 8, 3 at SG = 4, 1 from SG = 9 on (and for 1x1).
override WREGS: u32 = (KH * KW + SG - 1u) / SG;
// wl's size is WL_MAX (the contract; a constant: private arrays cannot take an override):
// CB = 2 blocks of 3, or 4 of 1.
// grad_weight's sums per lane: 4 * COB * CI_TILE * KH * KW of them, at most GACC_MAX, with
// COB <= COB_MAX (both the contract).

// Both entry points read x at binding 0, as vec4s.
@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
// forward: packed weights (1), bias (2), y (3), params (4)
@group(0) @binding(1) var<storage, read> wp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
// forward4's y, for planes of whole vec4s
@group(0) @binding(3) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: ConvParams;
// grad_weight: dy (1), partial sums (2), params (3)
@group(0) @binding(1) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> pw: ConvParams;

// The input windows: pixel state, set_pixels, load_window, tap_value.
// @include conv2d_window
// unaligned(lo, hi, s): the 4 values from component s of lo on.
// @include unaligned

// forward state: accumulators (pixel j of output row r, block cb at (r * CB + cb) * 4 + j,
// a vec4 over 4 channels; ROWS * CB <= CB_MAX) and this lane's share of the current
// weights, block cb's at [cb * WREGS, (cb + 1) * WREGS).
var<private> acc: array<vec4<f32>, 4 * CB_MAX>;
var<private> wl: array<vec4<f32>, WL_MAX>;

// Input row i (row i - PAD_H relative to the first output row) of one input channel, whose
// weights are at lane w_lane (CI_STEP > 1) or spread over the lanes by tap (a constant lane
// per tap once the loops unroll): output row r meets it through kernel row i - r.
fn forward_row(i: u32, base: u32, w_lane: u32) {
  let win = load_window(i, base);
  for (var r = 0u; r < ROWS; r++) {
    if (i < r || i - r >= KH) { continue; }
    let kh = i - r;
    for (var kw = 0u; kw < KW; kw++) {
      let t = kh * KW + kw;
      var w: array<vec4<f32>, CB_MAX>;
      for (var cb = 0u; cb < CB; cb++) { w[cb] = subgroupShuffle(wl[cb * WREGS + t / SG], t % SG + w_lane); }
      for (var j = 0u; j < 4u; j++) {
        let xv = tap_value(win, kh, kw, j);
        for (var cb = 0u; cb < CB; cb++) { acc[(r * CB + cb) * 4u + j] += xv * w[cb]; }
      }
    }
  }
}

// The 4-pixel chunks of a plane forward covers, and the first pixel of chunk k: ROWS rows
// of WIDTH / 4 chunks at a time.
fn forward_chunks() -> u32 {
  if (ROWS == 1u) { return (plane + 3u) / 4u; }
  return (height + ROWS - 1u) / ROWS * row_chunks();
}

fn chunk_start(k: u32) -> u32 {
  if (ROWS == 1u) { return 4u * k; }
  return k / row_chunks() * ROWS * WIDTH + k % row_chunks() * 4u;
}

// At least 1: a constant divisor of 0 fails the pipeline, even where ROWS = 1 never uses it.
fn row_chunks() -> u32 { return max(WIDTH / 4u, 1u); }

// Where forward's sums go: the output plane of channel g * cog + co_local, this lane's pixels.
struct Outputs { live: bool, n: u32, g: u32, b0: u32, cog: u32 }

// Sums this lane's 4 pixels (in each of ROWS rows) over CB output blocks into acc.
fn forward_sums(gid: vec3<u32>, sl: u32) -> Outputs {
  lane = sl;
  height = p.H;
  plane = p.H * WIDTH;
  // The input's planes as stored (with X_WIDTH < WIDTH, narrower than `plane`).
  let x_plane = p.H * X_WIDTH;
  let padded = (forward_chunks() + SG - 1u) / SG * SG;
  // Lanes past the plane or the batch still load (clamped) and shuffle with the others.
  let n_raw = gid.x / padded;
  let n = min(n_raw, p.N - 1u);
  set_pixels(chunk_start(gid.x % padded));
  let cog = p.C_out / p.groups;
  let cig = p.C_in / p.groups;
  let blocks = (cog + 3u) / 4u;
  let supers = (blocks + CB - 1u) / CB;
  let g = gid.y / supers;
  let b0 = (gid.y % supers) * CB;
  let taps = KH * KW;
  for (var ci0 = 0u; ci0 < cig; ci0 += CI_STEP) {
    for (var cb = 0u; cb < CB; cb++) {
      let w_base = (g * blocks + min(b0 + cb, blocks - 1u)) * cig * taps;
      if (CI_STEP > 1u) {
        wl[cb * WREGS] = wp[w_base + min(ci0 + lane, cig - 1u)];
      } else {
        for (var k = 0u; k < WREGS; k++) {
          let t = k * SG + lane;
          if (t < taps) { wl[cb * WREGS + k] = wp[w_base + ci0 * taps + select(t, taps - 1u - t, FLIP)]; }
        }
      }
    }
    // A constant trip count: the loop unrolls and each shuffle reads a constant lane.
    for (var s = 0u; s < CI_STEP; s++) {
      if (ci0 + s >= cig) { break; }
      let base = (n * p.C_in + g * cig + ci0 + s) * x_plane;
      forward_row(0u, base, s);
      if (KH + ROWS > 2u) { forward_row(1u, base, s); }
      if (KH + ROWS > 3u) { forward_row(2u, base, s); }
      if (KH + ROWS > 4u) { forward_row(3u, base, s); }
    }
  }
  return Outputs(n_raw < p.N, n, g, b0, cog);
}

fn bias_of(co: u32) -> f32 {
  if (HAS_BIAS) { return bias[co]; }
  return 0.0;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let o = forward_sums(gid, sl);
  if (!o.live) { return; }
  for (var cb = 0u; cb < CB; cb++) {
    for (var c = 0u; c < 4u; c++) {
      let co_local = (o.b0 + cb) * 4u + c;
      if (co_local >= o.cog) { return; }
      let co = o.g * o.cog + co_local;
      let b = bias_of(co);
      for (var j = 0u; j < 4u; j++) {
        if (q0 + j < plane) { y[(o.n * p.C_out + co) * plane + q0 + j] = acc[cb * 4u + j][c] + b; }
      }
    }
  }
}

// forward for planes of whole vec4s (ALIGNED): one vec4 store per output channel instead
// of four scalar ones, which lavapipe scatters lane by lane (the small ResNeXt's 1x1 convs
// at 28x28 ran 15-20% faster for it).
@compute @workgroup_size(WG)
fn forward4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let o = forward_sums(gid, sl);
  for (var r = 0u; r < ROWS; r++) {
    let q = q0 + r * WIDTH;
    if (!o.live || q >= plane) { return; }
    for (var cb = 0u; cb < CB; cb++) {
      for (var c = 0u; c < 4u; c++) {
        let co_local = (o.b0 + cb) * 4u + c;
        if (co_local >= o.cog) { break; }
        let co = o.g * o.cog + co_local;
        let a = (r * CB + cb) * 4u;
        let v = vec4<f32>(acc[a][c], acc[a + 1u][c], acc[a + 2u][c], acc[a + 3u][c]);
        y4[((o.n * p.C_out + co) * plane + q) / 4u] = v + bias_of(co);
      }
    }
  }
}

// forward4 on rows padded past y's (subgroup-padded): stores y's rows without the padding
// columns, a value at a time, where forward4 stores padded planes for a pass to crop them.
// Stage 3 and 4 of ResNeXt-50 ran 7% and 3.5% faster (the crop was 1.2 ms of stage 3's 8).
@compute @workgroup_size(WG)
fn forward_cropped(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let o = forward_sums(gid, sl);
  let col = q0 % WIDTH;
  for (var r = 0u; r < ROWS; r++) {
    let row = q0 / WIDTH + r;
    if (!o.live || row >= height) { return; }
    for (var cb = 0u; cb < CB; cb++) {
      for (var c = 0u; c < 4u; c++) {
        let co_local = (o.b0 + cb) * 4u + c;
        if (co_local >= o.cog) { break; }
        let co = o.g * o.cog + co_local;
        let at = ((o.n * p.C_out + co) * height + row) * Y_WIDTH + col;
        let a = (r * CB + cb) * 4u;
        for (var j = 0u; j < 4u; j++) {
          if (col + j < Y_WIDTH) { y[at + j] = acc[a + j][c] + bias_of(co); }
        }
      }
    }
  }
}

// grad_weight state: the tile's sums, and dy at this lane's pixels per output channel.
var<private> gacc: array<f32, GACC_MAX>;
var<private> dyv: array<vec4<f32>, 4 * COB_MAX>;

fn grad_row(kh: u32, base: u32, i: u32) {
  let win = load_window(kh, base);
  for (var kw = 0u; kw < KW; kw++) {
    var xs: vec4<f32>;
    for (var j = 0u; j < 4u; j++) { xs[j] = tap_value(win, kh, kw, j); }
    for (var c = 0u; c < 4u * COB; c++) { gacc[(c * CI_TILE + i) * KH * KW + kh * KW + kw] += dot(dyv[c], xs); }
  }
}

// The work items are (image, step) pairs, a step being SG 4-pixel chunks of a plane;
// chunk s of a tile sums items [s * rows_per_chunk, (s + 1) * rows_per_chunk). The
// dispatch's subgroups take consecutive (tile, chunk) pairs on a linear grid, so a
// workgroup's subgroups all have work even where a tile has fewer chunks than a workgroup
// has subgroups (a 14x14 plane at batch 8 is one chunk: 7 of 8 subgroups idled, and still
// ran the final subgroupAdds).
@compute @workgroup_size(WG)
fn grad_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  lane = sl;
  height = pw.H;
  plane = pw.H * WIDTH;
  let steps = ((plane + 3u) / 4u + SG - 1u) / SG;
  let items = pw.N * steps;
  let chunks = (items + pw.rows_per_chunk - 1u) / pw.rows_per_chunk;
  let cog = pw.C_out / pw.groups;
  let cig = pw.C_in / pw.groups;
  let co_tiles = (cog + 4u * COB - 1u) / (4u * COB);
  let ci_tiles = (cig + CI_TILE - 1u) / CI_TILE;
  let t = (gid.x + gid.y * nwg.x * WG) / SG;
  // Whole subgroups leave here (t is the same over a subgroup's lanes).
  if (t >= chunks * pw.groups * co_tiles * ci_tiles) { return; }
  let s = t % chunks;
  let tile = t / chunks;
  let g = tile / (co_tiles * ci_tiles);
  let co0 = (tile / ci_tiles) % co_tiles * 4u * COB;
  let ci0 = tile % ci_tiles * CI_TILE;
  for (var item = s * pw.rows_per_chunk; item < min((s + 1u) * pw.rows_per_chunk, items); item++) {
    let n = item / steps;
    let step = item % steps;
    set_pixels((step * SG + lane) * 4u);
    for (var c = 0u; c < 4u * COB; c++) {
      let base = (n * pw.C_out + g * cog + min(co0 + c, cog - 1u)) * plane;
      var v: vec4<f32>;
      if (ALIGNED) {
        v = dy4[(base + min(q0, plane - 4u)) / 4u];
      } else {
        // As load_window: the vec4 holding the first value, the next from the neighbour.
        let last = arrayLength(&dy4) - 1u;
        let lo = dy4[min((base + q0) / 4u, last)];
        var hi = subgroupShuffleDown(lo, 1u);
        if (lane == SG - 1u) { hi = dy4[min((base + q0) / 4u + 1u, last)]; }
        v = unaligned(lo, hi, (base + q0) % 4u);
      }
      let live = vec4<bool>(q0 < plane, q0 + 1u < plane, q0 + 2u < plane, q0 + 3u < plane);
      dyv[c] = select(vec4<f32>(), v, live & vec4<bool>(co0 + c < cog));
    }
    for (var i = 0u; i < CI_TILE; i++) {
      let base = (n * pw.C_in + g * cig + min(ci0 + i, cig - 1u)) * plane;
      grad_row(0u, base, i);
      if (KH > 1u) { grad_row(1u, base, i); }
      if (KH > 2u) { grad_row(2u, base, i); }
    }
  }
  let taps = KH * KW;
  let out_base = s * pw.C_out * cig * taps;
  for (var c = 0u; c < 4u * COB; c++) {
    for (var i = 0u; i < CI_TILE; i++) {
      for (var t = 0u; t < taps; t++) {
        let total = subgroupAdd(gacc[(c * CI_TILE + i) * taps + t]);
        if (lane == 0u && co0 + c < cog && ci0 + i < cig) {
          partial[out_base + ((g * cog + co0 + c) * cig + ci0 + i) * taps + t] = total;
        }
      }
    }
  }
}
