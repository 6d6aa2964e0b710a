// An ONNX graph under construction: nodes in the order they run, and the initializers
// (the weights) with the GPU tensors they are read from once the graph is complete. Plain
// objects shaped like onnx.proto3's messages, for protobufjs to encode (onnx-schema.ts).
import { ResnextError } from '../errors.js';
import type { Tensor } from '../tensor.js';

/** AttributeProto.AttributeType values this exporter writes. */
const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, INTS: 7 } as const;
/** TensorProto.DataType.FLOAT. */
export const FLOAT = 1;

export type AttributeValue = number | number[] | { float: number };

interface AttributeMessage {
  name: string;
  type: number;
  i?: number;
  f?: number;
  ints?: number[];
}

export interface NodeMessage {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: AttributeMessage[];
}

export interface TensorMessage {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

function attribute(name: string, value: AttributeValue): AttributeMessage {
  if (Array.isArray(value)) return { name, type: ATTRIBUTE_TYPE.INTS, ints: value };
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new ResnextError(`exportOnnx: attribute '${name}' = ${value} is not an integer; wrap floats as { float }`);
    return { name, type: ATTRIBUTE_TYPE.INT, i: value };
  }
  return { name, type: ATTRIBUTE_TYPE.FLOAT, f: value.float };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f;

/** float32 values as ONNX raw_data: fixed-width little-endian, whatever the host's order. */
export function littleEndianFloats(values: Float32Array): Uint8Array {
  // Nearly every host is little-endian: a byte copy then, with no per-element work.
  if (LITTLE_ENDIAN_HOST)
    return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

export class GraphBuilder {
  readonly nodes: NodeMessage[] = [];
  private readonly weights = new Map<string, Tensor>();
  private readonly used = new Set<string>();

  /** A weight input under its state-dict name (so a graph reads like the checkpoint). */
  initializer(name: string, t: Tensor): string {
    if (this.weights.has(name)) throw new ResnextError(`exportOnnx: two initializers named '${name}'`);
    this.weights.set(name, t);
    this.used.add(name);
    return name;
  }

  /** Adds a node with one output, named `name` (made unique), and returns that output. */
  node(opType: string, inputs: string[], name: string, attributes: Record<string, AttributeValue> = {}): string {
    let output = name;
    for (let k = 1; this.used.has(output); k++) output = `${name}_${k}`;
    this.used.add(output);
    this.nodes.push({
      input: inputs,
      output: [output],
      name: output,
      op_type: opType,
      attribute: Object.entries(attributes).map(([n, v]) => attribute(n, v)),
    });
    return output;
  }

  /** Reads every weight off the GPU, in the order the graph first used them. */
  async initializers(): Promise<TensorMessage[]> {
    return Promise.all(
      [...this.weights].map(async ([name, t]) => ({
        name,
        dims: [...t.shape],
        data_type: FLOAT,
        raw_data: littleEndianFloats(await t.toArray()),
      })),
    );
  }
}
