// C[M, N] = A[M, K] B[K, N], with K and N multiples of 4, for adapters with a fixed
// subgroup size SG. A subgroup computes a ROWS x 4 * SG tile of C: lane l owns
// columns [4 l, 4 l + 4) of the tile for all ROWS rows. Per 4 steps of k, a lane loads
// the 4 vec4s of B it needs, and the lanes share out the ROWS vec4s of A (each row's 4 k
// values), which every lane then reads by subgroup broadcast: on CPU adapters (lavapipe)
// a per-invocation load costs dozens of FMAs and a broadcast about one, so A, which all
// lanes need, is loaded once per subgroup instead of once per lane. 32 rows beat 16 there
// (1024^3: 65 vs 78 ms; the small ResNeXt's 1x1 layers 1.1-1.5x), as 16 beat 8: more FMAs
// per load of B, at the cost of spilled sums. ROWS is a constant, not an override, because
// the sums' array must be exactly ROWS long: sized for 32 and used for 16 (or 24), it ran
// 2-4x slower than either size alone.
//
// Operands are read through vec4 strides, so that a batch of products runs as one
// dispatch: output z is the sum over batches b in [z * per_output, (z + 1) * per_output)
// of A_b B_b, where A_b and B_b start a_batch and b_batch vec4s after A_(b-1) and B_(b-1).
// A 1x1 convolution is such a batch (conv2d.ts): per image, W x[n] (forward), W^T dy[n]
// (grad-input, A read from the packed weights), and with TRANS_B, the sum over images of
// dy[n] x[n]^T (grad-weight).
enable subgroups;

// @contract (MatmulBatchParams, ROWS, A_PER_LANE: generated from src/ops/matmul.ts)
// MatmulBatchParams: M, N, K, then vec4 strides: A's row r, k-vec4 k at r * a_row + k * a_k;
// without TRANS_B, B's row k, column vec4 c at k * b_k + c; with it, B^T's row n (column n
// of B) at n * b_k; a_batch and b_batch between products; outputs, per_output, batches.

// The adapter's fixed subgroup size (at least 4), also the workgroup's: one subgroup per
// workgroup ran the small ResNeXt's batched products 9% faster in all on lavapipe than 64
// invocations (8 subgroups; warm pipelines, min of 8; docs/kernels.md), and on GPUs it is
// a warp or wavefront per workgroup.
override SG: u32 = 8u;
// B is given transposed (B^T row-major, K contiguous per column of B).
override TRANS_B: bool = false;
// ROWS (the contract): rows of C per subgroup. A_PER_LANE (the contract): rows of A each
// lane loads per 4 steps of k: ceil(ROWS / SG), at most this (the host needs SG >= ROWS /
// A_PER_LANE; lanes past ROWS, from SG = 64 on, load row ROWS - 1 again, unused).

@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> batch_dims: MatmulBatchParams;

@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let col_tiles = (batch_dims.N + 4u * SG - 1u) / (4u * SG);
  let tiles = (batch_dims.M + ROWS - 1u) / ROWS * col_tiles;
  let t = wid.x + wid.y * nwg.x;
  let z = t / tiles;
  if (z >= batch_dims.outputs) { return; }
  let tile = t % tiles;
  let row0 = tile / col_tiles * ROWS;
  // This lane's vec4 of columns, clamped into B (what it reads past N is never stored).
  let n4 = batch_dims.N / 4u;
  let col4 = (tile % col_tiles) * SG + lane;
  let b_col = min(col4, n4 - 1u);
  let k4 = batch_dims.K / 4u;
  // Addresses are worked out here, not in the k loop: on lavapipe every read of batch_dims
  // is a bounds-checked load, and the row clamps cost integer ops per step. Hoisted, with
  // B's index stepped rather than multiplied, the small ResNeXt's products ran 8% faster
  // and 1024^3 3-10% (bit-identical results). Stepping A's indices the same way, in an
  // array, ran 3-4x slower: a mutated array indexed in a loop goes to memory.
  let a_k = batch_dims.a_k;
  let b_k = batch_dims.b_k;
  // The offsets of the rows of A this lane loads (row ROWS - 1 again past the tile).
  var a_rows: array<u32, A_PER_LANE>;
  for (var i = 0u; i < (ROWS + SG - 1u) / SG; i++) {
    a_rows[i] = min(row0 + min(i * SG + lane, ROWS - 1u), batch_dims.M - 1u) * batch_dims.a_row;
  }
  var acc: array<vec4<f32>, ROWS>;
  for (var batch = z * batch_dims.per_output; batch < min((z + 1u) * batch_dims.per_output, batch_dims.batches); batch++) {
    let a_base = batch * batch_dims.a_batch;
    // B's vec4 for step k and j < 4 (without TRANS_B, row 4 k + j at this lane's column
    // vec4; with it, column 4 b_col + j at rows [4 k, 4 k + 4)) is at b_at + j * b_k, b_at
    // moving b_step per k.
    var b_at = batch * batch_dims.b_batch + select(b_col, 4u * b_col * b_k, TRANS_B);
    let b_step = select(4u * b_k, 1u, TRANS_B);
    for (var k = 0u; k < k4; k++) {
      // Lane l holds rows l, l + SG, ... of the tile (their 4 k values).
      var a_mine: array<vec4<f32>, A_PER_LANE>;
      for (var i = 0u; i < (ROWS + SG - 1u) / SG; i++) {
        a_mine[i] = a4[a_base + a_rows[i] + k * a_k];
      }
      // With TRANS_B, lanes past N skip their loads of B: rare (N is C_in, whole tiles in
      // ResNeXt); with warm pipelines the small ResNeXt's grad-weight products ran -16% to
      // +29% against loading them unconditionally (min of 8, no consistent sign). Without
      // TRANS_B the test is constant: a real one there made 1024^3 19% slower.
      var b0: vec4<f32>;
      var b1: vec4<f32>;
      var b2: vec4<f32>;
      var b3: vec4<f32>;
      if (!TRANS_B || col4 < n4) {
        b0 = b4[b_at];
        b1 = b4[b_at + b_k];
        b2 = b4[b_at + 2u * b_k];
        b3 = b4[b_at + 3u * b_k];
      }
      b_at += b_step;
      for (var r = 0u; r < ROWS; r++) {
        let av = subgroupShuffle(a_mine[r / SG], r % SG);
        if (TRANS_B) {
          acc[r] += vec4<f32>(dot(av, b0), dot(av, b1), dot(av, b2), dot(av, b3));
        } else {
          acc[r] += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
        }
      }
    }
  }
  if (col4 >= n4) { return; }
  for (var r = 0u; r < ROWS; r++) {
    let row = row0 + r;
    if (row >= batch_dims.M) { return; }
    c4[z * (batch_dims.M * n4) + row * n4 + col4] = acc[r];
  }
}
