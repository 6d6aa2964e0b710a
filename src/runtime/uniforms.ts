// Kernel uniforms. A kernel's parameters are declared once, in TypeScript:
//
//   const FILL_PARAMS = uniformStruct('FillParams', { n: 'u32', value: 'f32', shape: 'array<vec4<u32>, 2>' });
//
// which gives the WGSL struct text (FILL_PARAMS.wgsl, emitted into the kernel by its
// contract, see contracts.ts) and a packer taking the fields by name
// (FILL_PARAMS.pack({ n, value, shape })). Layout: scalars (u32, i32, f32) take 4 bytes
// each; vec4<u32> and arrays of them start on 16 bytes; the struct is a multiple of 16 bytes.

export type ScalarType = 'u32' | 'i32' | 'f32';
export type FieldType = ScalarType | 'vec4<u32>' | `array<vec4<u32>, ${number}>`;
type FieldValue<T extends FieldType> = T extends ScalarType ? number : readonly number[];
export type StructValues<F extends Record<string, FieldType>> = { readonly [K in keyof F]: FieldValue<F[K]> };

/** The uniform arena's bytes, seen as each scalar type (one set of views, made once). */
export class UniformArena {
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  constructor(readonly bytes: ArrayBuffer) {
    this.u32 = new Uint32Array(bytes);
    this.i32 = new Int32Array(bytes);
    this.f32 = new Float32Array(bytes);
  }
}

/** What a dispatch binds as its uniform: a packed struct (UniformStruct.pack). */
export interface UniformData {
  readonly byteLength: number;
  /** Writes the struct at `byteOffset` (a multiple of 16) of the arena. */
  writeTo(arena: UniformArena, byteOffset: number): void;
}

interface Field {
  name: string;
  type: ScalarType | 'vec4u';
  /** Offset in 4-byte words. */
  word: number;
  /** vec4<u32> slots of an array field. */
  slots: number;
}

const ARRAY_TYPE = /^array<vec4<u32>, ?(\d+)>$/;
const WORD = 4;
const VEC4_WORDS = 4;
const STRUCT_ALIGN_WORDS = 4;

export class UniformStruct<F extends Record<string, FieldType>> {
  /** The WGSL declaration, on one line (so a kernel's line numbers do not move). */
  readonly wgsl: string;
  readonly byteLength: number;
  private readonly fields: Field[] = [];

  constructor(
    readonly name: string,
    declaration: F,
  ) {
    let word = 0;
    for (const [field, type] of Object.entries(declaration)) {
      const array = type === 'vec4<u32>' ? ['', '1'] : ARRAY_TYPE.exec(type);
      if (array) {
        word = Math.ceil(word / VEC4_WORDS) * VEC4_WORDS;
        this.fields.push({ name: field, type: 'vec4u', word, slots: Number(array[1]) });
        word += Number(array[1]) * VEC4_WORDS;
      } else if (type === 'u32' || type === 'i32' || type === 'f32') {
        this.fields.push({ name: field, type, word, slots: 0 });
        word += 1;
      } else throw new Error(`uniformStruct ${name}: field '${field}' has unsupported type '${type}'`);
    }
    this.byteLength = Math.max(STRUCT_ALIGN_WORDS, Math.ceil(word / STRUCT_ALIGN_WORDS) * STRUCT_ALIGN_WORDS) * WORD;
    this.wgsl = `struct ${name} { ${Object.entries(declaration)
      .map(([field, type]) => `${field}: ${type}`)
      .join(', ')} }`;
  }

  /** The struct's fields by name, for a dispatch; throws on a missing or unknown field. */
  pack(values: StructValues<F>): UniformData {
    let count = 0;
    for (const key in values) if (Object.hasOwn(values, key)) count++;
    for (const f of this.fields) {
      if ((values as Record<string, unknown>)[f.name] === undefined)
        throw new Error(`${this.name}.pack: missing field '${f.name}'`);
    }
    if (count !== this.fields.length) {
      const unknown = Object.keys(values).filter((k) => !this.fields.some((f) => f.name === k));
      throw new Error(`${this.name}.pack: unknown field${unknown.length > 1 ? 's' : ''} '${unknown.join("', '")}'`);
    }
    return new PackedStruct(this.fields, this.byteLength, values);
  }
}

class PackedStruct implements UniformData {
  constructor(
    private readonly fields: Field[],
    readonly byteLength: number,
    private readonly values: Record<string, number | readonly number[]>,
  ) {}

  writeTo(arena: UniformArena, byteOffset: number): void {
    const base = byteOffset / WORD;
    arena.u32.fill(0, base, base + this.byteLength / WORD);
    for (const f of this.fields) {
      const v = this.values[f.name];
      if (f.type === 'vec4u') {
        const list = v as readonly number[];
        if (list.length > f.slots * VEC4_WORDS)
          throw new Error(`field '${f.name}' holds ${list.length} > ${f.slots * 4}`);
        for (let i = 0; i < list.length; i++) arena.u32[base + f.word + i] = list[i];
      } else arena[f.type][base + f.word] = v as number;
    }
  }
}

/** The field type array<vec4<u32>, slots>: 4 * slots u32s (sizes, strides). */
export const u32x4Array = (slots: number) => `array<vec4<u32>, ${slots}>` as const;

/** Declares a kernel's uniform struct: its WGSL text and a packer by field name. */
export function uniformStruct<F extends Record<string, FieldType>>(name: string, declaration: F): UniformStruct<F> {
  return new UniformStruct(name, declaration);
}
