// The input windows of kernels/conv2d_subgroup.wgsl (included by it): per-invocation
// pixel state, and the 12 input values around a lane's 4 pixels for one kernel row, loaded
// once per lane and shared with the neighbours by shuffle. The including kernel declares
// x4 (binding 0, the input as vec4s) and the overrides SG, WIDTH, X_WIDTH, ALIGNED, KH, KW,
// PAD_H, PAD_W, WHOLE_ROWS and ROWS, includes the fragment `unaligned`, and sets lane,
// plane and height before set_pixels(). Callers ask load_window for kernel row 0 of each
// input plane first (ROWS_FROM_LANES loads the lanes' own rows then).

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
  if (X_WIDTH < WIDTH) {
    let own = padded_row_vec4(kh, base);
    w = Window(subgroupShuffleUp(own, 1u), own, subgroupShuffleDown(own, 1u), 0);
  } else if (ALIGNED) {
    let own = aligned_row(kh, base, first);
    // A 1x1 tap reads a lane's own pixels only: no halo, nothing outside the image.
    if (KH * KW == 1u) { return Window(own, own, own, 0); }
    w = Window(subgroupShuffleUp(own, 1u), own, subgroupShuffleDown(own, 1u), m);
    // Loaded only where a row continues past an edge lane: with WHOLE_ROWS it would be masked.
    if ((needs_prev || needs_next) && !WHOLE_ROWS) {
      // lavapipe loads lane by lane, skipping inactive lanes: with two rows, only the edge
      // lanes loading ran the forward and grad-input 1-16% faster on 11 of 14 role-shapes
      // (warm pipelines, min of 12; docs/kernels.md, "Measuring a kernel change"). With one
      // row all lanes load: edge lanes alone read 12-15% slower at 28x28 by the earlier
      // A/B, which timed a shader compile in every run; the var is within -7% to +6% of a let.
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

// The 4 values at this lane's columns of input row oh[0] + kh - PAD_H, stored X_WIDTH wide
// and read as if padded with zeros to WIDTH = X_WIDTH + 2 (X_WIDTH % 4 == 2, planes of whole
// vec4s, whole rows per subgroup): what subgroup-padded reads from a padded copy, without
// the copy. A row starts on a vec4 (even rows) or 2 values into one (odd rows): the lane
// loads the vec4 holding its first value and takes the next from its neighbour, which loads
// it anyway (the row's last lane needs only padding from it). Rows outside the image are
// clamped here, masked by the caller.
fn padded_row_vec4(kh: u32, base: u32) -> vec4<f32> {
  let at = (oh[0] + i32(kh) - i32(PAD_H)) * i32(X_WIDTH) + ow[0];
  let s = at & 3;
  let lo = x4[(base + u32(clamp(at - s, 0, i32(height * X_WIDTH) - 4))) / 4u];
  let hi = subgroupShuffleDown(lo, 1u);
  let own = select(lo, vec4<f32>(lo.zw, hi.xy), s == 2);
  return select(vec4<f32>(), own, vec4<i32>(ow[0]) + vec4<i32>(0, 1, 2, 3) < vec4<i32>(i32(X_WIDTH)));
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

// Rows of whole vec4s, two or more to a subgroup, one output row per lane, read as stored:
// the input row d rows below a lane's own (above for d < 0) is the own row of the lane
// d * WIDTH / 4 on. Only the lanes whose such lane lies outside the subgroup load it, so a
// 3x3 kernel's three row loads per input plane become one, plus a load in the edge lanes.
// The forward and grad-input on 8-wide rows (4 rows to a subgroup at SG = 8) ran 1.08-1.31x
// faster, on 16-wide ones 1.06x; 14-wide rows read in place as 16 (X_WIDTH) ran 0.96-0.98x
// that way and load their own rows (bench/kernel-ab.ts, docs/kernels.md).
override ROWS_FROM_LANES: bool = WHOLE_ROWS && X_WIDTH == WIDTH && ROWS == 1u && KH > 1u && 4u * SG > WIDTH;
// ROWS_FROM_LANES: this lane's own input row of the current plane, loaded with kernel row 0.
var<private> center: vec4<f32>;

// The vec4 at `first` of plane `base` (kernel row kh's, on an aligned plane): loaded, or with
// ROWS_FROM_LANES taken from the lane that holds that row as its own where it lies in the
// subgroup (lavapipe skips the lanes that do not load).
fn aligned_row(kh: u32, base: u32, first: i32) -> vec4<f32> {
  if (!ROWS_FROM_LANES) { return x4[aligned_index(base, first)]; }
  if (kh == 0u) { center = x4[aligned_index(base, i32(q0))]; }
  let d = i32(kh) - i32(PAD_H);
  if (d == 0) { return center; }
  let lanes_per_row = WIDTH / 4u;
  let source = i32(lane) + d * i32(lanes_per_row);
  let in_subgroup = source >= 0 && source < i32(SG);
  // Shuffled by every lane (a subgroup operation), kept where the source lane is inside.
  var from_lane: vec4<f32>;
  if (d < 0) {
    from_lane = subgroupShuffleUp(center, u32(-d) * lanes_per_row);
  } else {
    from_lane = subgroupShuffleDown(center, u32(d) * lanes_per_row);
  }
  var loaded: vec4<f32>;
  if (!in_subgroup) { loaded = x4[aligned_index(base, first)]; }
  return select(loaded, from_lane, in_subgroup);
}
