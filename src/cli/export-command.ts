// `resnext export --onnx`: a model of the family, or a trained checkpoint, as an ONNX file.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DATASET_SHAPES } from '../data/dataset-format.js';
import type { ResNet } from '../models/resnet.js';
import { withEngine } from './args.js';

interface ExportFlags {
  onnx: string;
  model?: string;
  checkpoint?: string;
  seed: number;
}

function seedValue(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`'${value}' is not a non-negative integer.`);
  return n;
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write a model as an ONNX file (opset 17, NCHW, dynamic batch) for onnxruntime and other runtimes')
    .requiredOption('--onnx <file>', 'the .onnx file to write')
    .option('--model <name>', 'a model of the family with its seeded initial weights, at its natural input size')
    .option('--checkpoint <file>', "a training checkpoint (a run directory's last.safetensors), at its dataset's size")
    .option('--seed <n>', "with --model: the seed of the model's initial weights", seedValue, 0)
    .action(exportAction);
}

interface Prepared {
  model: ResNet;
  label: string;
  inputShape: number[];
  metadata: Record<string, string>;
  note?: string;
}

async function exportAction(flags: ExportFlags): Promise<void> {
  if ((flags.model === undefined) === (flags.checkpoint === undefined)) {
    throw new InvalidArgumentError(
      `export needs exactly one of --model <name> and --checkpoint <file>, got ${flags.model === undefined ? 'neither' : 'both'}`,
    );
  }
  const { MODEL_NAMES } = await import('../models/names.js');
  if (flags.model !== undefined && !(MODEL_NAMES as readonly string[]).includes(flags.model))
    throw new InvalidArgumentError(`--model: unknown model '${flags.model}'; valid names: ${MODEL_NAMES.join(', ')}`);
  await withEngine(async () => {
    const { exportOnnx, OPSET, IR_VERSION } = await import('../export/onnx.js');
    const prepared = flags.checkpoint !== undefined ? await fromCheckpoint(flags.checkpoint) : await fromName(flags);
    const { model, label, inputShape, metadata } = prepared;
    model.eval();
    const bytes = await exportOnnx(model, {
      inputShape,
      name: label,
      producerVersion: await packageVersion(),
      metadata,
    }).finally(() => model.dispose());
    await mkdir(dirname(flags.onnx), { recursive: true });
    await writeFile(flags.onnx, bytes);
    const classes = model.spec.numClasses;
    console.log(`wrote ${flags.onnx}: ${(bytes.length / 1e6).toFixed(2)} MB (${bytes.length} bytes), ${label}`);
    console.log(`ONNX opset ${OPSET} (IR version ${IR_VERSION}), float32 NCHW`);
    console.log(`input 'input' [N, ${inputShape.join(', ')}], output 'logits' [N, ${classes}]; N (batch) is dynamic`);
    console.log(
      'BatchNorm: exported as BatchNormalization in inference mode (running mean and variance, epsilon), not folded into the convolutions',
    );
    if (prepared.note) console.log(prepared.note);
  });
}

async function fromName(flags: ExportFlags): Promise<Prepared> {
  const { MODELS } = await import('../models/index.js');
  const { Generator } = await import('../random.js');
  const name = flags.model as keyof typeof MODELS;
  const model = MODELS[name].create({ generator: new Generator(flags.seed) });
  return {
    model,
    label: `${name} (initial weights, seed ${flags.seed})`,
    inputShape: MODELS[name].input,
    metadata: { model: name, weights: `initial, seed ${flags.seed}` },
  };
}

async function fromCheckpoint(file: string): Promise<Prepared> {
  const { readCheckpoint } = await import('../train/checkpoint.js');
  const { MODELS } = await import('../models/index.js');
  const { skipInit } = await import('../nn/init.js');
  const ckpt = await readCheckpoint(file);
  const { model: name, dataset } = ckpt.config;
  const fc = ckpt.model['fc.weight'];
  if (fc === undefined || typeof fc === 'bigint')
    throw new InvalidArgumentError(`--checkpoint: ${file} holds no fc.weight, so it is not a model of the family`);
  // The classifier's rows give the class count, so no dataset is loaded just to count them.
  const model = skipInit(() => MODELS[name].create({ numClasses: fc.shape[0] }));
  model.loadStateDict(ckpt.model, { strict: true });
  return {
    model,
    label: `${name} trained on ${dataset}, epoch ${ckpt.position.epoch}`,
    inputShape: DATASET_SHAPES[dataset],
    metadata: { model: name, dataset, epoch: String(ckpt.position.epoch) },
    note: `inputs: ${dataset} images scaled to [0, 1], then normalised per channel with the training split's mean and std, as the trainer feeds them`,
  };
}

/** This package's version, for the file's producer_version ('' where package.json is not beside the code). */
async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
    const { version } = JSON.parse(text) as { version?: unknown };
    return typeof version === 'string' ? version : '';
  } catch {
    return '';
  }
}
