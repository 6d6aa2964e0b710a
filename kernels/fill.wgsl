// fill: out[i] = value.  copy: out[dst_offset + i] = src[src_offset + i] (clone, slices).

struct Params {
  n: u32,
  value: f32,
  src_offset: u32,
  dst_offset: u32,
}

override WG: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> filled: array<f32>;
@group(0) @binding(1) var<uniform> fill_p: Params;

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> copy_p: Params;

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < fill_p.n) { filled[i] = fill_p.value; }
}

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i < copy_p.n) { dst[copy_p.dst_offset + i] = src[copy_p.src_offset + i]; }
}
