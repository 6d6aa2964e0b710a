// The benchmark's baseline: one invocation per output element, no blocking, no reuse.
// Kept deliberately simple; `resnext bench conv` reports speed-ups over it.

// @contract (ConvParams: generated from src/ops/conv2d/geometry.ts)

override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: ConvParams;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.N * p.C_out * p.H_out * p.W_out) { return; }
  let ow = i % p.W_out;
  let oh = (i / p.W_out) % p.H_out;
  let co = (i / (p.W_out * p.H_out)) % p.C_out;
  let n = i / (p.W_out * p.H_out * p.C_out);
  let cig = p.C_in / p.groups;
  let g = co / (p.C_out / p.groups);
  var acc = 0.0;
  for (var ci = 0u; ci < cig; ci++) {
    for (var kh = 0u; kh < p.kH; kh++) {
      let ih = i32(oh * p.stride_h + kh * p.dil_h) - i32(p.pad_h);
      for (var kw = 0u; kw < p.kW; kw++) {
        let iw = i32(ow * p.stride_w + kw * p.dil_w) - i32(p.pad_w);
        if (ih >= 0 && ih < i32(p.H) && iw >= 0 && iw < i32(p.W)) {
          acc += w[((co * cig + ci) * p.kH + kh) * p.kW + kw] * x[((n * p.C_in + g * cig + ci) * p.H + u32(ih)) * p.W + u32(iw)];
        }
      }
    }
  }
  y[i] = acc;
}
