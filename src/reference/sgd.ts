/** torch.optim.SGD's update for one parameter (dampening 0); returns the new parameter and momentum buffer. */
export function sgdStep(
  param: number[],
  grad: number[],
  buffer: number[] | null,
  { lr, momentum, nesterov, weightDecay }: { lr: number; momentum: number; nesterov: boolean; weightDecay: number },
): { param: number[]; buffer: number[] | null } {
  const d = grad.map((g, i) => g + weightDecay * param[i]);
  if (momentum === 0) return { param: param.map((p, i) => p - lr * d[i]), buffer: null };
  const buf = buffer ? buffer.map((b, i) => momentum * b + d[i]) : [...d];
  const step = nesterov ? d.map((v, i) => v + momentum * buf[i]) : buf;
  return { param: param.map((p, i) => p - lr * step[i]), buffer: buf };
}
