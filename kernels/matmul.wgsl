// C[M, N] = op(A) op(B), op = transpose when TRANS_A / TRANS_B: A is [M, K] or [K, M],
// B is [K, N] or [N, K]. Each invocation keeps a 4x4 block of C in registers (four vec4
// accumulators, no workgroup memory: barriers are costly on CPU adapters and the block
// already reuses each loaded value four times).

// @contract (MatmulParams, SIDE: generated from src/ops/matmul.ts)

override TRANS_A: bool = false;
override TRANS_B: bool = false;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: MatmulParams;

fn load_a(row: u32, k: u32) -> f32 {
  if (row >= dims.M) { return 0.0; }
  if (TRANS_A) { return a[k * dims.M + row]; }
  return a[row * dims.K + k];
}

fn load_b(k: u32, col: u32) -> f32 {
  if (col >= dims.N) { return 0.0; }
  if (TRANS_B) { return b[col * dims.K + k]; }
  return b[k * dims.N + col];
}

fn store_row(row: u32, col0: u32, v: vec4<f32>) {
  if (row >= dims.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (col0 + j < dims.N) { c[row * dims.N + col0 + j] = v[j]; }
  }
}

// SIDE x SIDE invocations, each a 4x4 block of C.
@compute @workgroup_size(SIDE, SIDE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= dims.M || col0 >= dims.N) { return; }
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  for (var k = 0u; k < dims.K; k++) {
    let bv = vec4<f32>(load_b(k, col0), load_b(k, col0 + 1u), load_b(k, col0 + 2u), load_b(k, col0 + 3u));
    acc0 += load_a(row0, k) * bv;
    acc1 += load_a(row0 + 1u, k) * bv;
    acc2 += load_a(row0 + 2u, k) * bv;
    acc3 += load_a(row0 + 3u, k) * bv;
  }
  store_row(row0, col0, acc0);
  store_row(row0 + 1u, col0, acc1);
  store_row(row0 + 2u, col0, acc2);
  store_row(row0 + 3u, col0, acc3);
}
