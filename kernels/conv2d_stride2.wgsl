// conv2d forward and grad-input of undilated 3x3 convolutions of stride 2 with padding 1
// (ResNeXt's downsampling grouped convolutions), on input rows of whole vec4s:
//
//   main:       y[n, co, oh, ow] = bias[co] + sum over ci of its group and taps (kh, kw)
//                                  of w[co, ci_local, kh, kw] x[n, ci, 2 oh + kh - 1, 2 ow + kw - 1]
//   grad_input: dx[n, ci, ih, iw] = sum over co of its group and the taps with
//                                   ih = 2 oh + kh - 1, iw = 2 ow + kw - 1 of w[co, ci_local, kh, kw] dy[n, co, oh, ow]
//
// with reads outside the image 0. The shape of kernels/conv2d_subgroup.wgsl's forward, for
// the same reasons (on lavapipe a storage load costs dozens of FMAs, a shuffle about one):
// an invocation owns 4 consecutive output pixels of a row and CB blocks of 4 output
// channels; per input channel the subgroup loads each tap's weights once, one vec4 a lane,
// and broadcasts them. The 4 pixels read input columns 8 m - 1 .. 8 m + 7 of each kernel
// row: two aligned vec4s of the lane's own, the value before them from the lane below by
// shuffle (the lane at a row's start has the padding there instead).
enable subgroups;

// @contract (ConvParams, CB_MAX, WL_MAX: generated from src/ops/conv2d/geometry.ts and stride2.ts)

override WG: u32 = 64u;
// The adapter's fixed subgroup size, at least 4.
override SG: u32 = 8u;
// The output row width padded to whole vec4s: invocations per row are W_OUT4 / 4.
override W_OUT4: u32;
// 4-channel output blocks per invocation (CB * WREGS <= WL_MAX, the host caps CB).
override CB: u32 = 2u;
override HAS_BIAS: bool = false;
// Weight vec4s per lane and block: lane l holds taps l, l + SG, ...
override WREGS: u32 = (9u + SG - 1u) / SG;
// Every subgroup starts on a row's first output column (W_OUT4 divides 4 * SG pixels), so
// its lane 0 has the left padding before its columns, never a value to load.
override WHOLE_ROWS: bool = (4u * SG) % W_OUT4 == 0u;

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> wp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: ConvParams;
// grad_input: dy (0), weights packed by blocks of 4 input channels (1), dx (2), params (3).
@group(0) @binding(0) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
// grad_input4's dx, for rows of whole vec4s.
@group(0) @binding(2) var<storage, read_write> dx4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> pg: ConvParams;

// Sums: pixel j of block cb at cb * 4 + j, a vec4 over the block's 4 output channels.
var<private> acc: array<vec4<f32>, 4 * CB_MAX>;
// This lane's share of the current input channel's weights: block cb's at [cb * WREGS, ...).
var<private> wl: array<vec4<f32>, WL_MAX>;

// The input values of kernel row kh for the lane's 4 pixels: `before`.w, then `a` and `b`.
struct Row { before: vec4<f32>, a: vec4<f32>, b: vec4<f32> }

// Input row `ih` of the plane at `base`, columns from `col` (a multiple of 8) on.
fn load_row(base: u32, ih: i32, col: u32, lane: u32) -> Row {
  let width = p.W;
  let row_ok = ih >= 0 && ih < i32(p.H);
  let at = (base + u32(clamp(ih, 0, i32(p.H) - 1)) * width + min(col, width - 4u)) / 4u;
  let last = arrayLength(&x4) - 1u;
  // Columns past the row's end are right padding (the row's vec4s end at `width`). Loaded
  // only inside the image (lavapipe loads lane by lane, skipping inactive lanes), and the
  // vec4 before lane 0's columns by lane 0 alone: first measured 1-13% faster than loads
  // and selects by every lane, but within -4% to +7% of them with warm pipelines (min of 20).
  var a: vec4<f32>;
  var b: vec4<f32>;
  if (row_ok && col < width) { a = x4[at]; }
  if (row_ok && col + 4u < width) { b = x4[min(at + 1u, last)]; }
  var before = subgroupShuffleUp(b, 1u);
  if (!WHOLE_ROWS) {
    // Lane 0 mid-row: the vec4 before its columns.
    if (lane == 0u) { before = select(vec4<f32>(), x4[max(at, 1u) - 1u], row_ok); }
  }
  return Row(select(vec4<f32>(), before, col > 0u), a, b);
}

// The value pixel j reads through tap column kw: window offset 2 j + kw - 1.
fn tap(r: Row, kw: u32, j: u32) -> f32 {
  let at = i32(2u * j + kw) - 1;
  if (at < 0) { return r.before.w; }
  if (at < 4) { return r.a[at]; }
  return r.b[at - 4];
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let per_row = W_OUT4 / 4u;
  let padded = (p.H_out * per_row + SG - 1u) / SG * SG;
  let n_raw = gid.x / padded;
  let n = min(n_raw, p.N - 1u);
  let chunk = gid.x % padded;
  let oh = chunk / per_row;
  let ow0 = chunk % per_row * 4u;
  let cog = p.C_out / p.groups;
  let cig = p.C_in / p.groups;
  let blocks = (cog + 3u) / 4u;
  let supers = (blocks + CB - 1u) / CB;
  let g = gid.y / supers;
  let b0 = (gid.y % supers) * CB;
  for (var ci = 0u; ci < cig; ci++) {
    for (var cb = 0u; cb < CB; cb++) {
      let w_base = ((g * blocks + min(b0 + cb, blocks - 1u)) * cig + ci) * 9u;
      for (var k = 0u; k < WREGS; k++) {
        let t = k * SG + lane;
        if (t < 9u) { wl[cb * WREGS + k] = wp[w_base + t]; }
      }
    }
    let base = (n * p.C_in + g * cig + ci) * p.H * p.W;
    for (var kh = 0u; kh < 3u; kh++) {
      let r = load_row(base, i32(2u * oh + kh) - 1, 2u * ow0, lane);
      for (var kw = 0u; kw < 3u; kw++) {
        let t = kh * 3u + kw;
        var w: array<vec4<f32>, CB_MAX>;
        for (var cb = 0u; cb < CB; cb++) { w[cb] = subgroupShuffle(wl[cb * WREGS + t / SG], t % SG); }
        for (var j = 0u; j < 4u; j++) {
          let xv = tap(r, kw, j);
          for (var cb = 0u; cb < CB; cb++) { acc[cb * 4u + j] += xv * w[cb]; }
        }
      }
    }
  }
  if (n_raw >= p.N || oh >= p.H_out) { return; }
  for (var cb = 0u; cb < CB; cb++) {
    for (var c = 0u; c < 4u; c++) {
      let co_local = (b0 + cb) * 4u + c;
      if (co_local >= cog) { return; }
      let co = g * cog + co_local;
      var b = 0.0;
      if (HAS_BIAS) { b = bias[co]; }
      for (var j = 0u; j < 4u; j++) {
        if (ow0 + j < p.W_out) { y[((n * p.C_out + co) * p.H_out + oh) * p.W_out + ow0 + j] = acc[cb * 4u + j][c] + b; }
      }
    }
  }
}

// grad_input's sums: input pixel (i, c) of the invocation's 2 rows x 8 columns at i * 8 + c,
// a vec4 over a block of 4 input channels.
var<private> gacc: array<vec4<f32>, 16>;

// dy's row `oh` at the plane `base` for the lane's 4 output columns (own) and the one after
// (next.x), or 0 outside the image. Rows are DY_W4 wide.
struct DyRow { own: vec4<f32>, next: vec4<f32> }

fn dy_row(base: u32, oh: u32, m: u32, lane: u32) -> DyRow {
  let per_row = DY_W4 / 4u;
  let row_ok = oh < pg.H_out;
  let at = (base + min(oh, pg.H_out - 1u) * DY_W4) / 4u + m;
  // Loaded and selected, and the next vec4 loaded by every lane: load_row's loads inside
  // `if`s ran the grad-input 5-10% slower here on three of five downsampling shapes (warm
  // pipelines, min of 20, two A/Bs; docs/kernels.md, "Measuring a kernel change").
  let own = select(vec4<f32>(), dy4[at], row_ok);
  var next = subgroupShuffleDown(own, 1u);
  if (!DY_WHOLE_ROWS) {
    let outer = select(vec4<f32>(), dy4[min(at + 1u, arrayLength(&dy4) - 1u)], row_ok);
    if (lane == SG - 1u) { next = outer; }
  }
  return DyRow(own, select(vec4<f32>(), next, m + 1u < per_row));
}

// dy rows are padded to DY_W4 columns, 4 * ceil(W / 8): an invocation takes 8 columns of dx
// (output columns 4m .. 4m + 4 reach them) in 2 rows (output rows r and r + 1).
override DY_W4: u32 = 4u;
// Every subgroup ends on a dy row's last vec4, so its last lane has the padding after it.
override DY_WHOLE_ROWS: bool = (4u * SG) % DY_W4 == 0u;


// Adds w (4 input channels) times dy value `v` to pixel (i, c).
fn add(i: u32, c: u32, v: f32, w: vec4<f32>) { gacc[i * 8u + c] += v * w; }

// Where grad_input's sums go: image n, group g, input block b, dx rows 2r and 2r + 1,
// columns 8m .. 8m + 7.
struct DxBlock { live: bool, n: u32, g: u32, b: u32, r: u32, m: u32 }

// Sums the invocation's 16 pixels of dx over its group's output channels into gacc.
fn grad_input_sums(gid: vec3<u32>, lane: u32) -> DxBlock {
  let per_row = DY_W4 / 4u;
  let padded = (pg.H_out * per_row + SG - 1u) / SG * SG;
  let n_raw = gid.x / padded;
  let n = min(n_raw, pg.N - 1u);
  let chunk = gid.x % padded;
  let r = chunk / per_row;
  let m = chunk % per_row;
  let cog = pg.C_out / pg.groups;
  let blocks = (pg.C_in / pg.groups + 3u) / 4u;
  let g = gid.y / blocks;
  let b = gid.y % blocks;
  for (var co = 0u; co < cog; co++) {
    let w_base = ((g * blocks + b) * cog + co) * 9u;
    for (var k = 0u; k < WREGS; k++) {
      let t = k * SG + lane;
      if (t < 9u) { wl[k] = wp[w_base + t]; }
    }
    let base = (n * pg.C_out + g * cog + co) * pg.H_out * DY_W4;
    // dx row 2r meets dy row r through kernel row 1; dx row 2r + 1 meets row r + 1 through
    // kernel row 0 and row r through kernel row 2. Columns alike: even ones through kernel
    // column 1, odd ones 8m + c through columns 0 (dy column 4m + (c + 1) / 2) and 2 (4m + (c - 1) / 2).
    let rows = array<DyRow, 2>(dy_row(base, r, m, lane), dy_row(base, r + 1u, m, lane));
    for (var kh = 0u; kh < 3u; kh++) {
      let i = select(1u, 0u, kh == 1u);
      let d = rows[select(0u, 1u, kh == 0u)];
      for (var kw = 0u; kw < 3u; kw++) {
        let t = kh * 3u + kw;
        let w = subgroupShuffle(wl[t / SG], t % SG);
        for (var c = 0u; c < 8u; c++) {
          if (kw == 1u && c % 2u == 0u) { add(i, c, d.own[c / 2u], w); }
          if (kw == 0u && c % 2u == 1u) {
            if (c == 7u) { add(i, c, d.next.x, w); } else { add(i, c, d.own[(c + 1u) / 2u], w); }
          }
          if (kw == 2u && c % 2u == 1u) { add(i, c, d.own[(c - 1u) / 2u], w); }
        }
      }
    }
  }
  return DxBlock(n_raw < pg.N && r < pg.H_out, n, g, b, r, m);
}

// Where row 2 o.r + i of dx's plane for input channel c4 of block o.b starts, or -1 where
// this invocation stores none of it (past the batch, the group's channels or dx's rows).
fn dx_row(o: DxBlock, c4: u32, i: u32) -> i32 {
  let cig = pg.C_in / pg.groups;
  let ih = 2u * o.r + i;
  if (!o.live || o.b * 4u + c4 >= cig || ih >= pg.H) { return -1; }
  return i32(((o.n * pg.C_in + o.g * cig + o.b * 4u + c4) * pg.H + ih) * pg.W);
}

@compute @workgroup_size(WG)
fn grad_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let o = grad_input_sums(gid, lane);
  for (var c4 = 0u; c4 < 4u; c4++) {
    for (var i = 0u; i < 2u; i++) {
      let row = dx_row(o, c4, i);
      for (var c = 0u; c < 8u; c++) {
        let iw = 8u * o.m + c;
        if (row >= 0 && iw < pg.W) { dx[u32(row) + iw] = gacc[i * 8u + c][c4]; }
      }
    }
  }
}

// grad_input where dx's rows are whole vec4s: one store per 4 columns instead of four,
// which lavapipe scatters lane by lane.
@compute @workgroup_size(WG)
fn grad_input4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let o = grad_input_sums(gid, lane);
  for (var c4 = 0u; c4 < 4u; c4++) {
    for (var i = 0u; i < 2u; i++) {
      let row = dx_row(o, c4, i);
      for (var h = 0u; h < 2u; h++) {
        let iw = 8u * o.m + 4u * h;
        let a = i * 8u + 4u * h;
        let v = vec4<f32>(gacc[a][c4], gacc[a + 1u][c4], gacc[a + 2u][c4], gacc[a + 3u][c4]);
        if (row >= 0 && iw < pg.W) { dx4[(u32(row) + iw) / 4u] = v; }
      }
    }
  }
}
