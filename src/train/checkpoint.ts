// Checkpoints as safetensors: the model's state under "model.", the optimiser's momentum
// buffers under "optimizer.", and in the metadata the config, the position in the run and
// the generator's state. saveSafetensors writes a temporary file and renames it, so the
// last complete checkpoint survives any crash.
import { readSafetensors, saveSafetensors } from '../node/safetensors-file.js';
import type { HostTensor, Module, StateDict } from '../nn/module.js';
import type { SGD } from '../optim/sgd.js';
import { ResnextError } from '../errors.js';
import type { TrainConfig } from './config.js';

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

export async function saveCheckpoint(path: string, config: TrainConfig, model: Module, optimizer: SGD, position: RunPosition): Promise<void> {
  const dict: StateDict = {};
  for (const [k, v] of Object.entries(model.stateDict())) dict[`model.${k}`] = v;
  optimizer.buffers.forEach((b, i) => b && (dict[`optimizer.momentum.${i}`] = b));
  await saveSafetensors(path, dict, { metadata: { format: 'resnext-webgpu checkpoint', config: JSON.stringify(config), position: JSON.stringify(position) } });
}

export interface Checkpoint {
  config: TrainConfig;
  position: RunPosition;
  model: Record<string, HostTensor | bigint>;
  momentum: (Float32Array | null)[];
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata.format !== 'resnext-webgpu checkpoint') throw new ResnextError(`${path} is not a training checkpoint of this project (no checkpoint metadata)`);
  const model: Record<string, HostTensor | bigint> = {};
  const momentum: (Float32Array | null)[] = [];
  for (const [k, v] of Object.entries(tensors)) {
    if (k.startsWith('model.')) model[k.slice(6)] = v;
    else if (k.startsWith('optimizer.momentum.') && typeof v !== 'bigint') momentum[Number(k.slice(19))] = v.data;
  }
  return { config: JSON.parse(metadata.config), position: JSON.parse(metadata.position), model, momentum: Array.from(momentum, (m) => m ?? null) };
}
