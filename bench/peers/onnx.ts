// One-node ONNX models (a grouped Conv, a MatMul) for onnxruntime, encoded by hand: the
// few protobuf messages involved fit in a page, and a protobuf library would add a code
// generator or a schema file for them. Field numbers are those of onnx/onnx.proto.
import type { ConvGeometry } from '../../src/ops/conv2d/index.js';

/** Protobuf wire format: varint and length-delimited fields are all these messages need. */
class Writer {
  private readonly bytes: number[] = [];

  varint(field: number, value: number): this {
    return this.tag(field, 0).raw(value);
  }

  string(field: number, text: string): this {
    return this.message(field, new TextEncoder().encode(text));
  }

  message(field: number, body: Uint8Array | Writer): this {
    const data = body instanceof Writer ? body.finish() : body;
    this.tag(field, 2).raw(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  private tag(field: number, wireType: number): this {
    return this.raw(field * 8 + wireType);
  }

  /** Non-negative values only: every int64 in these models is a size or a count. */
  private raw(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`onnx: cannot encode ${value}`);
    while (value >= 0x80) {
      this.bytes.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.bytes.push(value);
    return this;
  }
}

const ELEM_FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2; // AttributeProto.AttributeType
const ATTR_INTS = 7;
const IR_VERSION = 8;
const OPSET = 17;

export interface ValueInfo {
  name: string;
  shape: readonly number[];
}

export type Attribute = { name: string; int: number } | { name: string; ints: readonly number[] };

/** ValueInfoProto { name = 1; type = 2 } of a float tensor with a fixed shape. */
function valueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  v.shape.forEach((d) => shape.message(1, new Writer().varint(1, d))); // TensorShapeProto.dim { dim_value = 1 }
  const tensorType = new Writer().varint(1, ELEM_FLOAT).message(2, shape); // TypeProto.Tensor { elem_type, shape }
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType)); // TypeProto { tensor_type = 1 }
}

/** AttributeProto { name = 1; i = 3; ints = 8; type = 20 }. */
function attribute(a: Attribute): Writer {
  const w = new Writer().string(1, a.name);
  if ('int' in a) return w.varint(3, a.int).varint(20, ATTR_INT);
  a.ints.forEach((v) => w.varint(8, v)); // unpacked, as onnx.proto (proto2) declares them
  return w.varint(20, ATTR_INTS);
}

/** A ModelProto holding a graph of one node whose inputs and outputs are the graph's. */
export function singleNodeModel(
  opType: string,
  inputs: ValueInfo[],
  output: ValueInfo,
  attributes: Attribute[] = [],
): Uint8Array {
  const node = new Writer(); // NodeProto { input = 1; output = 2; name = 3; op_type = 4; attribute = 5 }
  inputs.forEach((v) => node.string(1, v.name));
  node.string(2, output.name).string(3, opType.toLowerCase()).string(4, opType);
  attributes.forEach((a) => node.message(5, attribute(a)));
  const graph = new Writer().message(1, node).string(2, `${opType.toLowerCase()}_graph`); // GraphProto { node = 1; name = 2; input = 11; output = 12 }
  inputs.forEach((v) => graph.message(11, valueInfo(v)));
  graph.message(12, valueInfo(output));
  return new Writer() // ModelProto { ir_version = 1; producer_name = 2; graph = 7; opset_import = 8 }
    .varint(1, IR_VERSION)
    .string(2, 'resnext-webgpu bench:peers')
    .message(7, graph)
    .message(8, new Writer().string(1, '').varint(2, OPSET)) // OperatorSetIdProto { domain = 1; version = 2 }
    .finish();
}

/** y = Conv(x, w) with `group`, strides and pads as in the geometry, no bias. */
export function convModel(g: ConvGeometry): Uint8Array {
  return singleNodeModel(
    'Conv',
    [
      { name: 'x', shape: [g.N, g.C_in, g.H, g.W] },
      { name: 'w', shape: [g.C_out, g.C_in / g.groups, g.kH, g.kW] },
    ],
    { name: 'y', shape: [g.N, g.C_out, g.H_out, g.W_out] },
    [
      { name: 'group', int: g.groups },
      { name: 'kernel_shape', ints: [g.kH, g.kW] },
      { name: 'pads', ints: [g.padding[0], g.padding[1], g.padding[0], g.padding[1]] },
      { name: 'strides', ints: g.stride },
      { name: 'dilations', ints: g.dilation },
    ],
  );
}

/** c = MatMul(a, b) for a [M, K] and b [K, N]. */
export function matmulModel(M: number, K: number, N: number): Uint8Array {
  return singleNodeModel(
    'MatMul',
    [
      { name: 'a', shape: [M, K] },
      { name: 'b', shape: [K, N] },
    ],
    { name: 'c', shape: [M, N] },
  );
}
