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
// pad4: copy_padded where the rows written are whole vec4s (padding rows out to vec4s).
// crop4: copy_padded where the rows read are whole vec4s (cropping the padding off).

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

// pad4 and crop4 read and write the whole vec4s they can instead of scalars: lavapipe loads
// and stores lane by lane, and a vec4 costs it less than four scalars. On ResNeXt's
// planes (7x7 and 14x14 rows padded, 7x7 planes as 52 values and back) pads ran 1.2-1.6x
// faster than copy_padded and crops 1.05-1.4x (two in-process A/Bs, min of 9, warm pipelines).

// unaligned(lo, hi, s): the 4 values from component s of lo on.
// @include unaligned

// One invocation per row: the row's vec4s from the source vec4s it straddles, each loaded
// once (hi becomes the next lo) and only while the row goes on into it.
@compute @workgroup_size(WG)
fn pad4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= copying.rows) { return; }
  let source = copying.src_offset + r * copying.src_row;
  let s = source % 4u;
  let to = (copying.dst_offset + r * copying.dst_row) / 4u;
  var at = source / 4u;
  var lo = src4[at];
  for (var c = 0u; c < copying.width / 4u; c++) {
    var hi: vec4<f32>;
    // The next source vec4 starts with value 4 c + 4 - s of the row.
    if (4u * c + 4u - s < copying.n) { hi = src4[at + 1u]; }
    let k = vec4<u32>(4u * c) + vec4<u32>(0u, 1u, 2u, 3u);
    dst4[to + c] = select(vec4<f32>(), unaligned(lo, hi, s), k < vec4<u32>(copying.n));
    lo = hi;
    at++;
  }
}

// One invocation per row: vec4 loads, the row's first `width` values stored (n == width).
@compute @workgroup_size(WG)
fn crop4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * WG;
  if (r >= copying.rows) { return; }
  let first = (copying.src_offset + r * copying.src_row) / 4u;
  let to = copying.dst_offset + r * copying.dst_row;
  for (var c = 0u; c < (copying.width + 3u) / 4u; c++) {
    let v = src4[first + c];
    for (var j = 0u; j < 4u; j++) {
      if (4u * c + j < copying.width) { dst[to + 4u * c + j] = v[j]; }
    }
  }
}
