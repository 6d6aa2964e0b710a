// A training checkpoint's contents, with no file system: the model's state under "model.",
// the optimiser's momentum buffers under "optimizer.", and in the safetensors metadata the
// config, the position in the run and the generator's state. checkpoint.ts writes and reads
// them as files for the CLI; the web app turns them into downloads and reads uploads, so a
// checkpoint moves between the two.
import { ResnextError } from '../errors.js';
import { parseSafetensors, serializeSafetensors, type SafetensorsFile, type SaveOptions } from '../io/safetensors.js';
import type { HostTensor, Module, StateDict } from '../nn/module.js';
import type { SGD } from '../optim/sgd.js';
import type { TrainConfig } from './config.js';

/** The metadata's `format` value that marks a file as one of these checkpoints. */
export const CHECKPOINT_FORMAT = 'resnext-webgpu checkpoint';

export interface RunPosition {
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps taken. */
  step: number;
  /** The generator's state at the start of the next (or the interrupted) epoch. */
  rngState: number[];
  /** Steps already taken in an interrupted epoch, and its running sums; absent at an epoch's end. */
  partial?: { steps: number; seen: number; lossSum: number; wrong: number };
}

export interface Checkpoint {
  config: TrainConfig;
  position: RunPosition;
  model: Record<string, HostTensor | bigint>;
  momentum: (Float32Array | null)[];
}

/** The state dict and save options of a checkpoint, for encodeSafetensors and its wrappers. */
export function checkpointContents(
  config: TrainConfig,
  model: Module,
  optimizer: SGD,
  position: RunPosition,
): { dict: StateDict; options: SaveOptions } {
  const dict: StateDict = {};
  for (const [k, v] of Object.entries(model.stateDict())) dict[`model.${k}`] = v;
  optimizer.buffers.forEach((b, i) => b && (dict[`optimizer.momentum.${i}`] = b));
  return {
    dict,
    options: {
      metadata: { format: CHECKPOINT_FORMAT, config: JSON.stringify(config), position: JSON.stringify(position) },
    },
  };
}

/** A checkpoint as the bytes of one safetensors file (a page's download). */
export async function serializeCheckpoint(
  config: TrainConfig,
  model: Module,
  optimizer: SGD,
  position: RunPosition,
): Promise<Uint8Array> {
  const { dict, options } = checkpointContents(config, model, optimizer, position);
  return serializeSafetensors(dict, options);
}

/** The checkpoint in a parsed safetensors file; `source` names it in errors. */
export function parseCheckpoint({ tensors, metadata }: SafetensorsFile, source: string): Checkpoint {
  if (metadata.format !== CHECKPOINT_FORMAT)
    throw new ResnextError(`${source} is not a training checkpoint of this project (no checkpoint metadata)`);
  const model: Record<string, HostTensor | bigint> = {};
  const momentum: (Float32Array | null)[] = [];
  for (const [k, v] of Object.entries(tensors)) {
    if (k.startsWith('model.')) model[k.slice(6)] = v;
    else if (k.startsWith('optimizer.momentum.') && typeof v !== 'bigint') momentum[Number(k.slice(19))] = v.data;
  }
  const config = JSON.parse(metadata.config) as TrainConfig;
  const position = JSON.parse(metadata.position) as RunPosition;
  return { config, position, model, momentum: Array.from(momentum, (m) => m ?? null) };
}

/** The checkpoint in a safetensors file's bytes (a page's upload). */
export function checkpointFromBytes(bytes: Uint8Array | ArrayBuffer, source = 'checkpoint'): Checkpoint {
  return parseCheckpoint(parseSafetensors(bytes, source), source);
}
