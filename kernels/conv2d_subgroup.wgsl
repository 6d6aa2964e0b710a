// Grouped 2-D "same" convolution (stride 1, dilation 1, output size = input size) over
// NCHW f32, with subgroups sharing the loads. Serves conv2d's forward and, with the
// weights transposed and flipped (FLIP), its grad-input.
//
//   y[n, co, q] = bias[co] + sum_{ci in group, kh, kw} w[co, ci, kh, kw] x[n, ci, q + (kh - PAD_H) * W + kw - PAD_W]
//
// where q is a flattened pixel of a plane (masked where the tap leaves the image).
// Why this shape: on CPU adapters (lavapipe) every per-invocation load from a storage
// buffer is a loop over the SIMD lanes, and costs as much as dozens of FMAs, while a
// subgroup shuffle is a register permute. So each invocation loads one vec4 of a row
// (4 consecutive pixels of a plane, the 4 it computes) and takes the halo its taps need
// from its neighbours' vec4s; the weights of a tap are loaded once per subgroup, one
// vec4 per lane, and broadcast. An invocation computes 4 pixels x 4 * CB output channels.
// Planes must be whole vec4s (H * W % 4 == 0) and lanes of a subgroup never straddle two
// planes: each plane's vec4s are padded to a multiple of SG invocations.
enable subgroups;
// grad_weight's loop bounds come from gid.x / SG: the same for every lane of a subgroup
// (workgroups are whole subgroups), which WGSL's uniformity analysis cannot see.
diagnostic(off, subgroup_uniformity);

struct Params {
  N: u32, C_in: u32, H: u32, W: u32,
  C_out: u32, H_out: u32, W_out: u32, groups: u32,
  kH: u32, kW: u32, stride_h: u32, stride_w: u32,
  pad_h: u32, pad_w: u32, dil_h: u32, dil_w: u32,
  rows_per_chunk: u32,
}

override WG: u32 = 64u;
// The subgroup size the dispatch was planned for (the adapter's fixed size).
override SG: u32 = 8u;
// Plane width: a constant, so every shift of a row by whole rows is a known offset into
// a vec4 and the window below is picked with constant indices.
override WIDTH: u32;
override KH: u32 = 3u;
override KW: u32 = 3u;
override PAD_H: u32 = 1u;
override PAD_W: u32 = 1u;
// 4-channel output blocks per invocation: the input window is reused CB times.
override CB: u32 = 1u;
override HAS_BIAS: bool = false;
// grad-input: the weights are packed transposed; taps are read mirrored.
override FLIP: bool = false;
// Input channels whose weights one load covers: SG for 1x1 kernels (lane l loads the
// weights of channel ci + l), else 1 (lane l loads tap l of channel ci).
override CI_STEP: u32 = 1u;
const CB_MAX = 4u;
// Weight vec4s per lane to cover KH * KW taps (KH <= 3: tap_row is called per row).
const WREGS_MAX = 2u;

@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> wp: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> p: Params;

// Value `pos` of the 12 that prev, own and next hold (pos in [-4, 8)).
fn pick(prev: vec4<f32>, own: vec4<f32>, next: vec4<f32>, pos: i32) -> f32 {
  if (pos < 0) { return prev[pos + 4]; }
  if (pos < 4) { return own[pos]; }
  return next[pos - 4];
}

// Per-invocation state shared by forward and tap_row.
var<private> acc: array<vec4<f32>, 4 * CB_MAX>;
// This lane's share of the current input channel's tap weights, per output block.
var<private> wl: array<vec4<f32>, CB_MAX * WREGS_MAX>;
var<private> oh: array<i32, 4>;
var<private> ow: array<i32, 4>;
var<private> lane: u32;
var<private> chunk: u32;
var<private> chunks: u32;
// The lane that holds the current channel's weights when CI_STEP > 1.
var<private> w_lane: u32;

// The taps of kernel row kh for one input channel (plane at vec4 x_base). Called with a
// literal kh, so the row's offset within a vec4 (m) is a constant and so is every pick.
fn tap_row(kh: u32, x_base: u32) {
  let e = i32(kh) - i32(PAD_H);
  let shift = e * i32(WIDTH);
  let rel = shift >> 2u; // floor(shift / 4)
  let m = shift - rel * 4;
  let own_chunk = i32(chunk) + rel;
  let last = i32(chunks) - 1;
  let own = x4[x_base + u32(clamp(own_chunk, 0, last))];
  var prev = subgroupShuffleUp(own, 1u);
  var next = subgroupShuffleDown(own, 1u);
  // The subgroup's edge lanes load their outer neighbour when the window reaches it.
  if (lane == 0u && m < i32(PAD_W)) { prev = x4[x_base + u32(clamp(own_chunk - 1, 0, last))]; }
  if (lane == SG - 1u && m + 2 + i32(KW - PAD_W) >= 4) { next = x4[x_base + u32(clamp(own_chunk + 1, 0, last))]; }
  for (var kw = 0u; kw < KW; kw++) {
    let t = kh * KW + kw;
    var w: array<vec4<f32>, CB_MAX>;
    for (var cb = 0u; cb < CB; cb++) { w[cb] = subgroupShuffle(wl[cb * WREGS_MAX + t / SG], t % SG + w_lane); }
    let dw = i32(kw) - i32(PAD_W);
    for (var j = 0u; j < 4u; j++) {
      let ih = oh[j] + e;
      let iw = ow[j] + dw;
      let ok = ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(WIDTH);
      let xv = select(0.0, pick(prev, own, next, m + i32(j) + dw), ok);
      for (var cb = 0u; cb < CB; cb++) { acc[cb * 4u + j] += xv * w[cb]; }
    }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  lane = sl;
  let plane = p.H * WIDTH;
  chunks = plane / 4u;
  let padded = (chunks + SG - 1u) / SG * SG;
  let n_raw = gid.x / padded;
  let chunk_raw = gid.x % padded;
  // Lanes past the plane or the batch still load (clamped) and shuffle with the others.
  let in_range = n_raw < p.N && chunk_raw < chunks;
  let n = min(n_raw, p.N - 1u);
  // Not clamped: a lane's neighbours must hold the next and previous vec4s even past the
  // plane's end (the loads clamp; what they read there is masked).
  chunk = chunk_raw;
  let q0 = chunk * 4u;
  for (var j = 0u; j < 4u; j++) {
    oh[j] = i32((q0 + j) / WIDTH);
    ow[j] = i32((q0 + j) % WIDTH);
  }
  let cog = p.C_out / p.groups;
  let cig = p.C_in / p.groups;
  let blocks = (cog + 3u) / 4u;
  let supers = (blocks + CB - 1u) / CB;
  let g = gid.y / supers;
  let b0 = (gid.y % supers) * CB;
  let taps = KH * KW;
  let wregs = (taps + SG - 1u) / SG;
  for (var ci0 = 0u; ci0 < cig; ci0 += CI_STEP) {
    for (var cb = 0u; cb < CB; cb++) {
      let block = min(b0 + cb, blocks - 1u);
      let w_base = (g * blocks + block) * cig * taps;
      if (CI_STEP > 1u) {
        wl[cb * WREGS_MAX] = wp[w_base + min(ci0 + lane, cig - 1u)];
      } else {
        for (var k = 0u; k < wregs; k++) {
          let t = k * SG + lane;
          if (t < taps) { wl[cb * WREGS_MAX + k] = wp[w_base + ci0 * taps + select(t, taps - 1u - t, FLIP)]; }
        }
      }
    }
    for (var s = 0u; s < min(CI_STEP, cig - ci0); s++) {
      w_lane = s;
      let x_base = (n * p.C_in + g * cig + ci0 + s) * chunks;
      tap_row(0u, x_base);
      if (KH > 1u) { tap_row(1u, x_base); }
      if (KH > 2u) { tap_row(2u, x_base); }
    }
  }
  if (!in_range) { return; }
  for (var cb = 0u; cb < CB; cb++) {
    let block = b0 + cb;
    if (block >= blocks) { break; }
    for (var c = 0u; c < 4u; c++) {
      let co_local = block * 4u + c;
      if (co_local >= cog) { break; }
      let co = g * cog + co_local;
      var b = 0.0;
      if (HAS_BIAS) { b = bias[co]; }
      let i = cb * 4u;
      y4[(n * p.C_out + co) * chunks + chunk] = vec4<f32>(acc[i][c], acc[i + 1u][c], acc[i + 2u][c], acc[i + 3u][c]) + b;
    }
  }
}

// grad_weight: partial[s, co, ci_local, tap] = sum over the pixels subgroup s covers of
// dy[n, co, q] * x[n, ci, q + shift(tap)], masked like forward. Each lane keeps the sums of
// a tile of 4 * COB output channels x CI_TILE input channels x KH * KW taps over its
// pixels, 4 at a time (one vec4 of dy per channel, the x windows shared by shuffles as in
// forward); the subgroup adds its lanes' sums at the end, and the host sums the subgroups.
// Subgroup s covers image s / parts and, of that plane, SG-vec4 steps [part * steps, ...).
override COB: u32 = 1u;
override CI_TILE: u32 = 1u;
const COB_MAX = 2u;
const CI_TILE_MAX = 4u;
const TAPS_MAX = 9u;

@group(0) @binding(0) var<storage, read> gx4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> gdy4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> pw: Params;

var<private> gacc: array<f32, 4 * COB_MAX * CI_TILE_MAX * TAPS_MAX>;
var<private> dyv: array<vec4<f32>, 4 * COB_MAX>;

// Adds dy * (x shifted by each tap of kernel row kh) for input channel i of the tile.
fn grad_row(kh: u32, x_base: u32, i: u32) {
  let e = i32(kh) - i32(PAD_H);
  let shift = e * i32(WIDTH);
  let rel = shift >> 2u;
  let m = shift - rel * 4;
  let own_chunk = i32(chunk) + rel;
  let last = i32(chunks) - 1;
  let own = gx4[x_base + u32(clamp(own_chunk, 0, last))];
  var prev = subgroupShuffleUp(own, 1u);
  var next = subgroupShuffleDown(own, 1u);
  if (lane == 0u && m < i32(PAD_W)) { prev = gx4[x_base + u32(clamp(own_chunk - 1, 0, last))]; }
  if (lane == SG - 1u && m + 2 + i32(KW - PAD_W) >= 4) { next = gx4[x_base + u32(clamp(own_chunk + 1, 0, last))]; }
  for (var kw = 0u; kw < KW; kw++) {
    let dw = i32(kw) - i32(PAD_W);
    var xs: vec4<f32>;
    for (var j = 0u; j < 4u; j++) {
      let ih = oh[j] + e;
      let iw = ow[j] + dw;
      let ok = ih >= 0 && ih < i32(pw.H) && iw >= 0 && iw < i32(WIDTH);
      xs[j] = select(0.0, pick(prev, own, next, m + i32(j) + dw), ok);
    }
    for (var c = 0u; c < 4u * COB; c++) {
      let k = (c * CI_TILE_MAX + i) * TAPS_MAX + kh * KW + kw;
      gacc[k] += dot(dyv[c], xs);
    }
  }
}

@compute @workgroup_size(WG)
fn grad_weight(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  lane = sl;
  chunks = pw.H * WIDTH / 4u;
  let steps = pw.rows_per_chunk;
  let parts = ((chunks + SG - 1u) / SG + steps - 1u) / steps;
  let s = gid.x / SG;
  let n_raw = s / parts;
  let n = min(n_raw, pw.N - 1u);
  let part = s % parts;
  let cog = pw.C_out / pw.groups;
  let cig = pw.C_in / pw.groups;
  let co_tiles = (cog + 4u * COB - 1u) / (4u * COB);
  let ci_tiles = (cig + CI_TILE - 1u) / CI_TILE;
  let g = gid.y / (co_tiles * ci_tiles);
  let co0 = (gid.y / ci_tiles) % co_tiles * 4u * COB;
  let ci0 = gid.y % ci_tiles * CI_TILE;
  for (var step = part * steps; step < min((part + 1u) * steps, (chunks + SG - 1u) / SG); step++) {
    let chunk_raw = step * SG + lane;
    let valid = n_raw < pw.N && chunk_raw < chunks;
    chunk = chunk_raw;
    let q0 = chunk * 4u;
    for (var j = 0u; j < 4u; j++) {
      oh[j] = i32((q0 + j) / WIDTH);
      ow[j] = i32((q0 + j) % WIDTH);
    }
    for (var c = 0u; c < 4u * COB; c++) {
      let co = g * cog + min(co0 + c, cog - 1u);
      dyv[c] = select(vec4<f32>(), gdy4[(n * pw.C_out + co) * chunks + min(chunk, chunks - 1u)], valid && co0 + c < cog);
    }
    for (var i = 0u; i < CI_TILE; i++) {
      let x_base = (n * pw.C_in + g * cig + min(ci0 + i, cig - 1u)) * chunks;
      grad_row(0u, x_base, i);
      if (KH > 1u) { grad_row(1u, x_base, i); }
      if (KH > 2u) { grad_row(2u, x_base, i); }
    }
  }
  let taps = KH * KW;
  let out_base = s * pw.C_out * cig * taps;
  for (var c = 0u; c < 4u * COB; c++) {
    for (var i = 0u; i < CI_TILE; i++) {
      for (var t = 0u; t < taps; t++) {
        let total = subgroupAdd(gacc[(c * CI_TILE_MAX + i) * TAPS_MAX + t]);
        if (lane == 0u && n_raw < pw.N && co0 + c < cog && ci0 + i < cig) {
          partial[out_base + ((g * cog + co0 + c) * cig + ci0 + i) * taps + t] = total;
        }
      }
    }
  }
}
