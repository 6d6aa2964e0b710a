// Fused log-softmax + negative log-likelihood over rows of logits [rows, classes].
//   forward:  one invocation per row: lse = logsumexp(row), loss[row] = lse - row[target]
//   backward: one invocation per element: d logits = (softmax - onehot(target)) * dloss * scale

// @contract (CrossEntropyParams: generated from src/ops/cross_entropy.ts)

override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<u32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<uniform> forward_params: CrossEntropyParams;

@group(0) @binding(2) var<storage, read> saved_lse: array<f32>;
@group(0) @binding(3) var<storage, read> grad_loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_logits: array<f32>;
@group(0) @binding(5) var<uniform> backward_params: CrossEntropyParams;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= forward_params.rows) { return; }
  let base = row * forward_params.classes;
  var m = logits[base];
  for (var j = 1u; j < forward_params.classes; j++) { m = max(m, logits[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < forward_params.classes; j++) { s += exp(logits[base + j] - m); }
  let l = m + log(s);
  lse[row] = l;
  loss[row] = l - logits[base + targets[row]];
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= backward_params.rows * backward_params.classes) { return; }
  let row = i / backward_params.classes;
  let onehot = select(0.0, 1.0, i % backward_params.classes == targets[row]);
  grad_logits[i] = (exp(logits[i] - saved_lse[row]) - onehot) * grad_loss[0] * backward_params.scale;
}
