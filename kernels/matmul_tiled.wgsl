// C[M, N] = op(A) op(B), op = transpose when TRANS_A / TRANS_B: A is [M, K] or [K, M], B
// is [K, N] or [N, K]; any sizes. The classic shared-memory SGEMM that discrete GPUs want
// (cheap workgroup memory and barriers): a workgroup computes a BM x BN tile of C. Per BK
// steps of k it loads a BM x BK tile of op(A) and a BK x BN tile of op(B) into workgroup
// memory, every invocation loading a share (consecutive invocations read consecutive
// words of the source, whichever way it is transposed), then each invocation accumulates
// a BLOCK x BLOCK block of C from them: BLOCK values of each tile per k step for BLOCK *
// BLOCK FMAs. An invocation's rows (columns) are BM / BLOCK (BN / BLOCK) apart, so
// neighbouring invocations read neighbouring words of b_tile and store neighbouring words
// of C. On CPU adapters (lavapipe) barriers and workgroup memory are dear: there
// kernels/matmul.wgsl and kernels/matmul_subgroup.wgsl run unless this one is forced.

// @contract (MatmulParams, BLOCK: generated from src/ops/matmul_variants.ts)

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// The tile, chosen by the host within the default limits (256 invocations, 16 KiB of
// workgroup memory): powers of two, BM and BN multiples of BLOCK.
override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 16u;
override WG: u32 = (BM / BLOCK) * (BN / BLOCK);
override A_TILE: u32 = BK * BM;
override B_TILE: u32 = BK * BN;

// The accumulators hold a block as BLOCK vec4s.
const_assert BLOCK == 4u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: MatmulParams;

// Stored depth-major: a_tile[k * BM + m], b_tile[k * BN + n].
var<workgroup> a_tile: array<f32, A_TILE>;
var<workgroup> b_tile: array<f32, B_TILE>;

// op(A)[row, k], 0 outside it (the tile's tail past M or K adds nothing).
fn a_at(row: u32, k: u32) -> f32 {
  if (row >= dims.M || k >= dims.K) { return 0.0; }
  if (TRANS_A) { return a[k * dims.M + row]; }
  return a[row * dims.K + k];
}

// op(B)[k, col], 0 outside it.
fn b_at(k: u32, col: u32) -> f32 {
  if (k >= dims.K || col >= dims.N) { return 0.0; }
  if (TRANS_B) { return b[col * dims.K + k]; }
  return b[k * dims.N + col];
}

// Fills both tiles for depth k0: element e of a tile is taken by invocation e % WG, and e
// runs along whichever index is contiguous in memory (k for A, m for A^T; n for B, k for B^T).
fn load_tiles(row0: u32, col0: u32, k0: u32, lid: u32) {
  for (var e = lid; e < A_TILE; e += WG) {
    var m = e / BK;
    var k = e % BK;
    if (TRANS_A) {
      m = e % BM;
      k = e / BM;
    }
    a_tile[k * BM + m] = a_at(row0 + m, k0 + k);
  }
  for (var e = lid; e < B_TILE; e += WG) {
    var k = e / BN;
    var n = e % BN;
    if (TRANS_B) {
      k = e % BK;
      n = e / BK;
    }
    b_tile[k * BN + n] = b_at(k0 + k, col0 + n);
  }
}

// Workgroup (x, y) computes the tile at column x * BN, row y * BM; invocation lid its block
// acc[i][j] = C[row0 + ty + i * (BM / BLOCK), col0 + tx + j * (BN / BLOCK)].
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  let ty = lid / (BN / BLOCK);
  let tx = lid % (BN / BLOCK);
  var acc: array<vec4<f32>, BLOCK>;
  for (var k0 = 0u; k0 < dims.K; k0 += BK) {
    load_tiles(row0, col0, k0, lid);
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var bv: vec4<f32>;
      for (var j = 0u; j < BLOCK; j++) { bv[j] = b_tile[k * BN + tx + j * (BN / BLOCK)]; }
      for (var i = 0u; i < BLOCK; i++) { acc[i] += a_tile[k * BM + ty + i * (BM / BLOCK)] * bv; }
    }
    // The next step overwrites the tiles: everyone must have read them.
    workgroupBarrier();
  }
  for (var i = 0u; i < BLOCK; i++) {
    let row = row0 + ty + i * (BM / BLOCK);
    if (row >= dims.M) { break; }
    for (var j = 0u; j < BLOCK; j++) {
      let col = col0 + tx + j * (BN / BLOCK);
      if (col < dims.N) { c[row * dims.N + col] = acc[i][j]; }
    }
  }
}
