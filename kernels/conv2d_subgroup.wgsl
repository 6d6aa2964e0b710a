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

// Per-invocation state, set by the entry points and read by the helpers.
var<private> lane: u32;
var<private> plane: u32;
// The planes' height (each entry point's params).
var<private> height: u32;
// This invocation's first pixel in its plane: a multiple of 4, possibly past the plane.
var<private> q0: u32;
var<private> oh: array<i32, 4>;
var<private> ow: array<i32, 4>;
// Per pixel j, bit kh * KW + kw: tap (kh, kw) reads inside the image. Set once, as the
// per-tap tests cost about as much as the FMAs.
var<private> inside: array<u32, 4>;

// The 12 input values around a lane's 4 pixels for one kernel row: own holds the
// values at its pixels shifted by whole rows, starting `m` values before them.
struct Window { prev: vec4<f32>, own: vec4<f32>, next: vec4<f32>, m: i32 }

fn set_pixels(first: u32) {
  q0 = first;
  for (var j = 0u; j < 4u; j++) {
    oh[j] = i32((q0 + j) / WIDTH);
    ow[j] = i32((q0 + j) % WIDTH);
    var bits = 0u;
    for (var kh = 0u; kh < KH; kh++) {
      for (var kw = 0u; kw < KW; kw++) {
        let ih = oh[j] + i32(kh) - i32(PAD_H);
        let iw = ow[j] + i32(kw) - i32(PAD_W);
        if (ih >= 0 && ih < i32(height) && iw >= 0 && iw < i32(WIDTH)) { bits |= 1u << (kh * KW + kw); }
      }
    }
    inside[j] = bits;
  }
}

// Values [i, i + 4) of a buffer from lo, the vec4 holding value i (i % 4 = s), and hi,
// the next vec4.
fn unaligned(lo: vec4<f32>, hi: vec4<f32>, s: u32) -> vec4<f32> {
  let by1 = vec4<f32>(lo.yzw, hi.x);
  let by2 = vec4<f32>(lo.zw, hi.xy);
  let by3 = vec4<f32>(lo.w, hi.xyz);
  return select(select(select(by3, by2, s == 2u), by1, s == 1u), lo, s == 0u);
}

// Index of the vec4 of x's plane `base` from pixel q (a multiple of 4) on, clamped into the
// plane (what is read outside it is masked by the caller).
fn aligned_index(base: u32, q: i32) -> u32 {
  return (base + u32(clamp(q, 0, i32(plane) - 4))) / 4u;
}

// Kernel row kh of input plane `base`: a literal kh makes the window's m a constant. Each
// lane loads the vec4 at its own pixels; the halo comes from the neighbours' by shuffle,
// and one more load serves the subgroup's edge lanes (lane 0 the values before lane 0's,
// lane SG - 1 those after its own).
fn load_window(kh: u32, base: u32) -> Window {
  let shift = (i32(kh) - i32(PAD_H)) * i32(WIDTH);
  // Aligned: the vec4 holding pixel q0 + shift, which starts m values before it.
  let m = select(0, shift & 3, ALIGNED);
  let first = i32(q0) + shift - m;
  // Whether the window reaches past the edge lanes' neighbours (a constant per kh).
  let needs_prev = m < i32(PAD_W);
  let needs_next = m + 2 + i32(KW - PAD_W) >= 4;
  var w: Window;
  if (ALIGNED) {
    let own = x4[aligned_index(base, first)];
    // A 1x1 tap reads a lane's own pixels only: no halo, nothing outside the image.
    if (KH * KW == 1u) { return Window(own, own, own, 0); }
    w = Window(subgroupShuffleUp(own, 1u), own, subgroupShuffleDown(own, 1u), m);
    // Loaded only where a row continues past an edge lane: with WHOLE_ROWS it would be masked.
    if ((needs_prev || needs_next) && !WHOLE_ROWS) {
      // lavapipe loads lane by lane, skipping inactive lanes: with two rows, only the edge
      // lanes loading ran the forward and grad-input 5-28% faster (min of 10, in-process);
      // with one row and two output blocks, 12-15% slower at 28x28, so there all lanes
      // load. Loading into a var, the one-row form also ran 5-17% faster than with a let.
      var outer: vec4<f32>;
      if (ROWS == 1u || lane == 0u || lane == SG - 1u) { outer = x4[aligned_index(base, first + select(4, -4, lane == 0u))]; }
      if (lane == 0u && needs_prev) { w.prev = outer; }
      if (lane == SG - 1u && needs_next) { w.next = outer; }
    }
  } else {
    // The plane starts inside a vec4: value i sits at component i & 3 of vec4 i >> 2 (both
    // floor, also for i < 0), the 4 values from first at components s.. of vec4s v_lane and
    // v_lane + 1. Only vec4 indices are clamped, so lanes keep reading consecutive vec4s: a
    // clamped read only moves values outside the plane, which are masked.
    let i = i32(base) + first;
    let s = u32(i & 3);
    let last = i32(arrayLength(&x4)) - 1;
    let lo = x4[clamp(i >> 2u, 0, last)];
    // Lane 0 loads vec4 v_0 - 1; the others v_lane + SG - 1, of which lane 1's is the one
    // lane SG - 1 needs past its lo.
    let outer = x4[clamp((i >> 2u) + select(i32(SG) - 1, -1, lane == 0u), 0, last)];
    let past_end = subgroupShuffle(outer, 1u);
    var hi = subgroupShuffleDown(lo, 1u);
    if (lane == SG - 1u) { hi = past_end; }
    let own = unaligned(lo, hi, s);
    if (KH * KW == 1u) { return Window(own, own, own, 0); }
    w = Window(subgroupShuffleUp(own, 1u), own, subgroupShuffleDown(own, 1u), 0);
    if (lane == 0u) { w.prev = unaligned(outer, lo, s); }
    // With m = 0, taps reach one value past a lane's own at most (KW <= 3, "same" padding).
    if (lane == SG - 1u) { w.next = vec4<f32>(past_end[s]); }
  }
  if (WIDTH % 4u == 0u) {
    // Rows of whole vec4s: the 12 values lie in one input row (prev and next past its ends
    // hold other rows), so masking them here replaces a mask per tap and pixel.
    let ih = oh[0] + i32(kh) - i32(PAD_H);
    let row_ok = ih >= 0 && ih < i32(height);
    w.own = select(vec4<f32>(), w.own, row_ok);
    w.prev = select(vec4<f32>(), w.prev, row_ok && ow[0] > 0);
    w.next = select(vec4<f32>(), w.next, row_ok && ow[0] + 4 < i32(WIDTH));
  }
  return w;
}

// The input value pixel j reads through tap (kh, kw) of window w, or 0 outside the image.
fn tap_value(w: Window, kh: u32, kw: u32, j: u32) -> f32 {
  // A 1x1 tap never leaves the image (lanes past the plane compute what nobody stores).
  if (KH * KW == 1u) { return w.own[j]; }
  let pos = w.m + i32(j) + i32(kw) - i32(PAD_W);
  var v: f32;
  if (pos < 0) { v = w.prev[pos + 4]; } else if (pos < 4) { v = w.own[pos]; } else { v = w.next[pos - 4]; }
  // load_window masked rows of whole vec4s already.
  if (WIDTH % 4u == 0u) { return v; }
  return select(0.0, v, (inside[j] & (1u << (kh * KW + kw))) != 0u);
}

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
      let base = (n * p.C_in + g * cig + ci0 + s) * plane;
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
