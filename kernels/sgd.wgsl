// One fused SGD step per parameter tensor, in place, with PyTorch's semantics
// (torch.optim.SGD, dampening 0):
//   d = grad + weight_decay * param
//   buf = momentum * buf + d          (buf = d on the first step)
//   d = d + momentum * buf            if NESTEROV, else d = buf
//   param -= lr * d

// @contract (SgdParams: generated from src/optim/sgd.ts)

override WG: u32 = 256u;
override NESTEROV: bool = false;
override MOMENTUM: bool = true;

// Four elements per invocation: tensors' buffers are whole vec4s (the pool's sizes are
// multiples of 16 bytes), and the lanes past the tensor's end are never read as data.
@group(0) @binding(0) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> buf: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> step: SgdParams;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i * 4u >= step.n) { return; }
  var d = grad[i] + step.weight_decay * param[i];
  if (MOMENTUM) {
    let b = select(step.momentum * buf[i] + d, d, step.first_step == 1u);
    buf[i] = b;
    d = select(b, d + step.momentum * b, NESTEROV);
  }
  param[i] -= step.lr * d;
}
