// fill: out[i] = value.
// fill4, copy4: the same a vec4 at a time, where the host has made every count and
//       offset a whole number of vec4s (a vec4 load or store costs about as much as a
//       scalar one on CPU adapters).
// copy: rows of `n` contiguous elements, row r from src[src_offset + r * src_row] to
//       dst[dst_offset + r * dst_row]: clone (one row), and slicing or concatenating along
//       any axis (rows = the product of the dims before it).
// copy_padded: the same, one invocation per row (no division per element), each row then
//       padded with zeros to `width` elements (planes made whole vec4s, and back, for the
//       matrix-product 1x1 convolution).

// @contract (FillParams, CopyParams: generated from src/ops/fill.ts)

override WG: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> filled: array<f32>;
@group(0) @binding(1) var<uniform> filling: FillParams;

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> copying: CopyParams;

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < filling.n) { filled[i] = filling.value; }
}

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= copying.n * copying.rows) { return; }
  let r = i / copying.n;
  let k = i % copying.n;
  dst[copying.dst_offset + r * copying.dst_row + k] = src[copying.src_offset + r * copying.src_row + k];
}

@compute @workgroup_size(WG)
fn copy_padded(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= copying.rows) { return; }
  let source = copying.src_offset + r * copying.src_row;
  let to = copying.dst_offset + r * copying.dst_row;
  for (var k = 0u; k < copying.width; k++) {
    // Loaded only inside the row: lavapipe loads lane by lane and skips inactive lanes,
    // and this form ran 1.3-1.7x faster than a clamped load and a select (in-process A/B).
    var v = 0.0;
    if (k < copying.n) { v = src[source + k]; }
    dst[to + k] = v;
  }
}

@group(0) @binding(0) var<storage, read_write> filled4: array<vec4<f32>>;
@group(0) @binding(0) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn fill4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < filling.n) { filled4[i] = vec4<f32>(filling.value); }
}

@compute @workgroup_size(WG)
fn copy4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= copying.n * copying.rows) { return; }
  let r = i / copying.n;
  let k = i % copying.n;
  dst4[copying.dst_offset + r * copying.dst_row + k] = src4[copying.src_offset + r * copying.src_row + k];
}
