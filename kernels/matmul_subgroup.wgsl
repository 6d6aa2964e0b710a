// C[M, N] = A[M, K] B[K, N], row-major, with K and N multiples of 4, for adapters with a
// fixed subgroup size SG. A subgroup computes a ROWS x 4 * SG tile of C: lane l owns
// columns [4 l, 4 l + 4) of the tile for all ROWS rows. Per 4 steps of k, a lane loads
// the 4 vec4s of B it needs, and the lanes share out the ROWS vec4s of A (each row's 4 k
// values), which every lane then reads by subgroup broadcast: on CPU adapters (lavapipe)
// a per-invocation load costs dozens of FMAs and a broadcast about one, so A, which all
// lanes need, is loaded once per subgroup instead of once per lane. 16 rows beat 8 there
// (18 vs 16.5 GFLOP/s at 1024^3): more FMAs per load of B, at the cost of spilled sums.
enable subgroups;
// Tiles come from gid.x / SG, uniform over a subgroup (workgroups are whole subgroups),
// which WGSL's uniformity analysis cannot see.
diagnostic(off, subgroup_uniformity);

struct Params {
  M: u32,
  N: u32,
  K: u32,
}

override WG: u32 = 64u;
override SG: u32 = 8u;
override ROWS: u32 = 16u;
const ROWS_MAX = 16u;

@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let col_tiles = (p.N + 4u * SG - 1u) / (4u * SG);
  let tile = (gid.x + gid.y * nwg.x * WG) / SG;
  let row0 = tile / col_tiles * ROWS;
  // This lane's vec4 of columns, clamped into B (what it reads past N is never stored).
  let n4 = p.N / 4u;
  let col4 = (tile % col_tiles) * SG + lane;
  let b_col = min(col4, n4 - 1u);
  let k4 = p.K / 4u;
  var acc: array<vec4<f32>, ROWS_MAX>;
  for (var k = 0u; k < k4; k++) {
    // Lane l holds rows l, l + SG, ... of the tile (their 4 k values).
    var a_mine: array<vec4<f32>, ROWS_MAX>;
    for (var i = 0u; i < (ROWS + SG - 1u) / SG; i++) {
      a_mine[i] = a4[min(row0 + min(i * SG + lane, ROWS - 1u), p.M - 1u) * k4 + k];
    }
    let b0 = b4[(4u * k) * n4 + b_col];
    let b1 = b4[(4u * k + 1u) * n4 + b_col];
    let b2 = b4[(4u * k + 2u) * n4 + b_col];
    let b3 = b4[(4u * k + 3u) * n4 + b_col];
    for (var r = 0u; r < ROWS; r++) {
      let av = subgroupShuffle(a_mine[r / SG], r % SG);
      acc[r] += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
    }
  }
  if (col4 >= n4) { return; }
  for (var r = 0u; r < ROWS; r++) {
    let row = row0 + r;
    if (row >= p.M) { return; }
    c4[row * n4 + col4] = acc[r];
  }
}
