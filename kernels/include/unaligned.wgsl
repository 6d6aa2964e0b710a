// Four values that start inside a vec4, from it and the next: shared by the subgroup
// convolution's windows (conv2d_window.wgsl) and grad-weight, and the padding copy (fill.wgsl).

// Values [i, i + 4) of a buffer from lo, the vec4 holding value i (i % 4 = s), and hi,
// the next vec4.
fn unaligned(lo: vec4<f32>, hi: vec4<f32>, s: u32) -> vec4<f32> {
  let by1 = vec4<f32>(lo.yzw, hi.x);
  let by2 = vec4<f32>(lo.zw, hi.xy);
  let by3 = vec4<f32>(lo.w, hi.xyz);
  return select(select(select(by3, by2, s == 2u), by1, s == 1u), lo, s == 0u);
}
