// ONNX export of the ResNet / ResNeXt family: the module tree walked into an opset-17 graph
// over NCHW float32 with a symbolic batch dimension "N", encoded with protobufjs. Platform-
// free (no file system): it returns the bytes, and the CLI or a page decides where they go.
//
// BatchNorm is exported as BatchNormalization in inference mode with its running statistics,
// epsilon and momentum, not folded into the preceding convolution: the graph holds the
// checkpoint's parameters as they are, under their state-dict names, and runtimes that fold
// BN (onnxruntime does, at session creation) still can.
import { ArgumentError, ResnextError } from '../errors.js';
import { Bottleneck, ResNet } from '../models/resnet.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { pair } from '../ops/conv2d/geometry.js';
import type { Tensor } from '../tensor.js';
import { FLOAT, GraphBuilder } from './onnx-graph.js';
import { onnxType } from './onnx-schema.js';

export const OPSET = 17;
/** IR version 8 (ONNX 1.10+): what opset 17 models are written with. */
export const IR_VERSION = 8;
/** The symbolic batch dimension of the input and output. */
export const BATCH_DIM = 'N';
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'logits';
/** ops/batchnorm.ts's default (PyTorch's), for a BatchNorm2d built without eps. */
const DEFAULT_EPS = 1e-5;
const DEFAULT_MOMENTUM = 0.1;

export interface OnnxExportOptions {
  /** One image's [C, H, W]; the batch dimension is left symbolic. */
  inputShape: readonly number[];
  /** The graph's name (default: the model's class). */
  name?: string;
  /** ModelProto.producer_version. */
  producerVersion?: string;
  /** Extra ModelProto.metadata_props (e.g. the model name and dataset of a checkpoint). */
  metadata?: Record<string, string>;
}

/** A value flowing through the graph: its name and rank (Linear needs a Flatten before it on 4-D input). */
interface Value {
  name: string;
  rank: number;
}

/**
 * The model as an ONNX file's bytes, its weights read off the GPU as they are now. The model
 * is exported as it runs in eval mode; Bottleneck forms (a) and (b) compute the same
 * function as (c) from the same parameters, so every form is written as grouped convolutions.
 */
export async function exportOnnx(model: Module, options: OnnxExportOptions): Promise<Uint8Array> {
  const inputShape = checkInputShape(options.inputShape);
  // Shapes are checked here, before anything is written: a wrong channel count throws a
  // ShapeError naming the layer.
  const outputShape = model.shapeAndMacs([1, ...inputShape]).shape;
  const graph = new GraphBuilder();
  const out = emit(graph, model, '', { name: INPUT_NAME, rank: 4 });
  // The last node's output becomes the graph's output, under a name a user can rely on.
  const last = graph.nodes.at(-1);
  if (last?.output[0] !== out.name) throw new ResnextError('exportOnnx: the model produced no operations to export');
  last.output = [OUTPUT_NAME];
  const message = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: OPSET }],
    producer_name: 'resnext-webgpu',
    producer_version: options.producerVersion ?? '',
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: options.name ?? model.constructor.name,
      node: graph.nodes,
      initializer: await graph.initializers(),
      input: [valueInfo(INPUT_NAME, inputShape)],
      output: [valueInfo(OUTPUT_NAME, outputShape.slice(1))],
    },
  };
  const ModelProto = onnxType('ModelProto');
  const problem = ModelProto.verify(message);
  if (problem) throw new ResnextError(`exportOnnx: the graph does not fit the ONNX schema: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

function checkInputShape(shape: readonly number[]): number[] {
  // Callers from JavaScript may pass anything; the types do not stop them.
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new ArgumentError(
      'exportOnnx',
      'inputShape',
      `must be one image's [C, H, W] as positive integers (the batch is symbolic), got ${JSON.stringify(shape)}`,
    );
  }
  return shape.map(Number);
}

/** A float32 tensor value [N, ...rest] with N symbolic. */
function valueInfo(name: string, rest: number[]) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: FLOAT,
        shape: { dim: [{ dim_param: BATCH_DIM }, ...rest.map((d) => ({ dim_value: d }))] },
      },
    },
  };
}

/** Writes module `m` (state-dict prefix `prefix`) applied to `x`; returns its output. */
function emit(graph: GraphBuilder, m: Module, prefix: string, x: Value): Value {
  const path = prefix.replace(/\.$/, '') || 'model';
  if (m instanceof Conv2d) return { name: conv(graph, m, prefix, x.name), rank: 4 };
  if (m instanceof BatchNorm2d) return { name: batchNormalization(graph, m, prefix, x.name), rank: 4 };
  if (m instanceof ReLU) return { name: graph.node('Relu', [x.name], path), rank: x.rank };
  if (m instanceof MaxPool2d) return { name: maxPool(graph, m, path, x.name), rank: 4 };
  if (m instanceof AdaptiveAvgPool2d) return { name: graph.node('GlobalAveragePool', [x.name], path), rank: 4 };
  if (m instanceof Flatten) return { name: graph.node('Flatten', [x.name], path, { axis: 1 }), rank: 2 };
  if (m instanceof Linear) return { name: gemm(graph, m, prefix, x), rank: 2 };
  if (m instanceof Bottleneck) return { name: bottleneck(graph, m, prefix, x.name), rank: 4 };
  // ResNet's forward runs its children in the order it registers them (conv1, bn1, relu,
  // maxpool, the stages, avgpool, fc), with the flatten before fc that gemm() adds.
  if (m instanceof Sequential || m instanceof ResNet)
    return m.namedChildren().reduce((h, [name, child]) => emit(graph, child, `${prefix}${name}.`, h), x);
  throw new ResnextError(
    `exportOnnx: module '${path}' (${m.constructor.name}) has no ONNX form; the exporter knows the layers of src/nn/layers.ts, Bottleneck and ResNet`,
  );
}

function conv(graph: GraphBuilder, m: Conv2d, prefix: string, x: string): string {
  const [, , kH, kW] = m.weight.shape;
  const stride = pair('Conv2d', 'stride', m.options.stride, 1, 1);
  const padding = pair('Conv2d', 'padding', m.options.padding, 0, 0);
  const dilation = pair('Conv2d', 'dilation', m.options.dilation, 1, 1);
  const inputs = [x, graph.initializer(`${prefix}weight`, m.weight)];
  if (m.bias) inputs.push(graph.initializer(`${prefix}bias`, m.bias));
  return graph.node('Conv', inputs, prefix.slice(0, -1), {
    kernel_shape: [kH, kW],
    strides: stride,
    // ONNX pads are [top, left, bottom, right]: symmetric here, as in conv2d.
    pads: [padding[0], padding[1], padding[0], padding[1]],
    dilations: dilation,
    group: m.options.groups ?? 1,
  });
}

function batchNormalization(graph: GraphBuilder, m: BatchNorm2d, prefix: string, x: string): string {
  const buffers = new Map(m.namedBuffers());
  const running = (name: string) => graph.initializer(`${prefix}${name}`, buffers.get(name) as Tensor);
  const inputs = [
    x,
    graph.initializer(`${prefix}weight`, m.weight),
    graph.initializer(`${prefix}bias`, m.bias),
    running('running_mean'),
    running('running_var'),
  ];
  return graph.node('BatchNormalization', inputs, prefix.slice(0, -1), {
    epsilon: { float: m.options.eps ?? DEFAULT_EPS },
    // ONNX weighs the old running value by momentum, PyTorch by 1 - momentum. Inference
    // never reads it; it is kept so that the graph describes the layer whole.
    momentum: { float: 1 - (m.options.momentum ?? DEFAULT_MOMENTUM) },
    training_mode: 0,
  });
}

function maxPool(graph: GraphBuilder, m: MaxPool2d, path: string, x: string): string {
  const k = pair('MaxPool2d', 'kernelSize', m.kernelSize, 1, 1);
  const stride = pair('MaxPool2d', 'stride', m.options.stride, k, 1);
  const padding = pair('MaxPool2d', 'padding', m.options.padding, 0, 0);
  // Padding counts as -infinity in both (never the maximum), and both round the output size down.
  return graph.node('MaxPool', [x], path, {
    kernel_shape: k,
    strides: stride,
    pads: [padding[0], padding[1], padding[0], padding[1]],
    ceil_mode: 0,
  });
}

function gemm(graph: GraphBuilder, m: Linear, prefix: string, x: Value): string {
  const path = prefix.slice(0, -1);
  const flat = x.rank === 2 ? x.name : graph.node('Flatten', [x.name], `${path}_flatten`, { axis: 1 });
  const inputs = [flat, graph.initializer(`${prefix}weight`, m.weight)];
  if (m.bias) inputs.push(graph.initializer(`${prefix}bias`, m.bias));
  // weight is [out, in], as torch.nn.Linear's: y = x W^T + b.
  return graph.node('Gemm', inputs, path, { alpha: { float: 1 }, beta: { float: 1 }, transA: 0, transB: 1 });
}

/** relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + shortcut(x)), conv2 grouped. */
function bottleneck(graph: GraphBuilder, m: Bottleneck, prefix: string, x: string): string {
  const path = prefix.slice(0, -1);
  let h = x;
  const steps: [string, Conv2d, BatchNorm2d][] = [
    ['1', m.conv1, m.bn1],
    ['2', m.conv2, m.bn2],
    ['3', m.conv3, m.bn3],
  ];
  for (const [i, c, bn] of steps) {
    h = batchNormalization(graph, bn, `${prefix}bn${i}.`, conv(graph, c, `${prefix}conv${i}.`, h));
    if (i !== '3') h = graph.node('Relu', [h], `${path}.relu${i}`);
  }
  const identity = m.downsample ? emit(graph, m.downsample, `${prefix}downsample.`, { name: x, rank: 4 }).name : x;
  return graph.node('Relu', [graph.node('Add', [h, identity], `${path}.add`)], `${path}.relu`);
}
