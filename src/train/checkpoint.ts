// Checkpoints as safetensors files (their contents are in checkpoint-format.ts, shared with
// the web app). saveSafetensors writes a temporary file and renames it, so the last
// complete checkpoint survives any crash.
import { readSafetensors, saveSafetensors } from '../node/safetensors-file.js';
import type { Module } from '../nn/module.js';
import type { SGD } from '../optim/sgd.js';
import type { TrainConfig } from './config.js';
import { checkpointContents, parseCheckpoint, type Checkpoint, type RunPosition } from './checkpoint-format.js';

export type { Checkpoint, RunPosition } from './checkpoint-format.js';

export async function saveCheckpoint(
  path: string,
  config: TrainConfig,
  model: Module,
  optimizer: SGD,
  position: RunPosition,
): Promise<void> {
  const { dict, options } = checkpointContents(config, model, optimizer, position);
  await saveSafetensors(path, dict, options);
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  return parseCheckpoint(await readSafetensors(path), path);
}
