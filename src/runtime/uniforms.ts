// Packs a kernel's uniform `Params` struct. Kernels declare their structs as scalars
// (u32/f32, 4 bytes each) followed by arrays of vec4<u32>, which start on 16 bytes.

export class Params {
  private readonly words: number[] = [];
  private readonly isFloat: boolean[] = [];

  u32(...values: number[]): this {
    for (const v of values) this.push(v, false);
    return this;
  }

  f32(...values: number[]): this {
    for (const v of values) this.push(v, true);
    return this;
  }

  /** An array<vec4<u32>, slots> holding `values`, zero-filled. */
  u32Array(values: readonly number[], slots: number): this {
    while (this.words.length % 4) this.push(0, false);
    for (let i = 0; i < slots * 4; i++) this.push(values[i] ?? 0, false);
    return this;
  }

  get byteLength(): number {
    return Math.max(16, Math.ceil(this.words.length / 4) * 16);
  }

  writeTo(target: ArrayBuffer, byteOffset: number): void {
    const u = new Uint32Array(target, byteOffset, this.words.length);
    const f = new Float32Array(target, byteOffset, this.words.length);
    this.words.forEach((v, i) => (this.isFloat[i] ? (f[i] = v) : (u[i] = v)));
  }

  private push(value: number, isFloat: boolean): void {
    this.words.push(value);
    this.isFloat.push(isFloat);
  }
}
