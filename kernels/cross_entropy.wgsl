// Fused log-softmax + negative log-likelihood over rows of logits [rows, classes].
//   forward:  one invocation per row: lse = logsumexp(row), loss[row] = lse - row[target]
//   backward: one invocation per element: d logits = (softmax - onehot(target)) * dloss * scale

struct Params {
  rows: u32,
  classes: u32,
  scale: f32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<u32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@group(0) @binding(2) var<storage, read> saved_lse: array<f32>;
@group(0) @binding(3) var<storage, read> grad_loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_logits: array<f32>;
@group(0) @binding(5) var<uniform> bp: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  let base = row * p.classes;
  var m = logits[base];
  for (var j = 1u; j < p.classes; j++) { m = max(m, logits[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < p.classes; j++) { s += exp(logits[base + j] - m); }
  let l = m + log(s);
  lse[row] = l;
  loss[row] = l - logits[base + targets[row]];
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= bp.rows * bp.classes) { return; }
  let row = i / bp.classes;
  let onehot = select(0.0, 1.0, i % bp.classes == targets[row]);
  grad_logits[i] = (exp(logits[i] - saved_lse[row]) - onehot) * grad_loss[0] * bp.scale;
}
