// Max pooling over NCHW f32 tensors (PyTorch's MaxPool2d, floor mode, no dilation).
//   max_forward:  one invocation per output: the window's maximum (padding never wins) and
//                 the in-plane index of the first maximum, kept as raw u32 bits for backward
//   max_backward: one invocation per input element: the sum of the gradients of the
//                 outputs whose recorded maximum is this element (a gather, so no atomics
//                 and a deterministic order)

// @contract (PoolParams, NO_INDEX: generated from src/ops/pool.ts)

override WG: u32 = 64u;

// max_forward: x (0), y (1), argmax (2), params (3)
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> argmax_out: array<u32>;
@group(0) @binding(3) var<uniform> pooling: PoolParams;
// max_backward: grad (0), argmax (1), dx (2), params (3)
@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read> argmax: array<u32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn max_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= pooling.planes * pooling.H_out * pooling.W_out) { return; }
  let ow = i % pooling.W_out;
  let oh = (i / pooling.W_out) % pooling.H_out;
  let plane = i / (pooling.W_out * pooling.H_out);
  let ih0 = i32(oh * pooling.stride_h) - i32(pooling.pad_h);
  let iw0 = i32(ow * pooling.stride_w) - i32(pooling.pad_w);
  var best = 0.0;
  var best_index = NO_INDEX;
  for (var kh = 0u; kh < pooling.k_h; kh++) {
    let ih = ih0 + i32(kh);
    if (ih < 0 || ih >= i32(pooling.H)) { continue; }
    for (var kw = 0u; kw < pooling.k_w; kw++) {
      let iw = iw0 + i32(kw);
      if (iw < 0 || iw >= i32(pooling.W)) { continue; }
      let index = u32(ih) * pooling.W + u32(iw);
      let v = x[plane * pooling.H * pooling.W + index];
      if (v > best || best_index == NO_INDEX) {
        best = v;
        best_index = index;
      }
    }
  }
  y[i] = best;
  argmax_out[i] = best_index;
}

@compute @workgroup_size(WG)
fn max_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= pooling.planes * pooling.H * pooling.W) { return; }
  let index = i % (pooling.H * pooling.W);
  let plane = i / (pooling.H * pooling.W);
  let ih = i32(index / pooling.W) + i32(pooling.pad_h);
  let iw = i32(index % pooling.W) + i32(pooling.pad_w);
  // Outputs whose window covers (ih, iw): oh * stride in [ih - k + 1, ih].
  let oh_first = max(0, (ih - i32(pooling.k_h) + i32(pooling.stride_h)) / i32(pooling.stride_h));
  let ow_first = max(0, (iw - i32(pooling.k_w) + i32(pooling.stride_w)) / i32(pooling.stride_w));
  let oh_last = min(i32(pooling.H_out) - 1, ih / i32(pooling.stride_h));
  let ow_last = min(i32(pooling.W_out) - 1, iw / i32(pooling.stride_w));
  var sum = 0.0;
  for (var oh = oh_first; oh <= oh_last; oh++) {
    for (var ow = ow_first; ow <= ow_last; ow++) {
      let o = (plane * pooling.H_out + u32(oh)) * pooling.W_out + u32(ow);
      if (argmax[o] == index) { sum += grad[o]; }
    }
  }
  dx[i] = sum;
}
