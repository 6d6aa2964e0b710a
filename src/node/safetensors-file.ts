// safetensors files in Node: writing streams the chunks of encodeSafetensors (one tensor
// at a time from the GPU) into a temporary file that is renamed into place, so a crash
// never leaves a half-written file under the final name.
import { open, rename, rm } from 'node:fs/promises';
import {
  encodeSafetensors,
  parseSafetensors,
  SafetensorsError,
  type SafetensorsFile,
  type SaveOptions,
} from '../io/safetensors.js';
import type { HostTensor, StateDict } from '../nn/module.js';
import { readFileFor } from './read-file.js';

/** Writes a state dict to `path`; bigint values become I64 scalars (num_batches_tracked). */
export async function saveSafetensors(path: string, dict: StateDict, options: SaveOptions = {}): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  const file = await open(temporary, 'w');
  try {
    for await (const chunk of encodeSafetensors(dict, options)) await file.write(chunk);
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await file.close();
  await rename(temporary, path).catch(async (error) => {
    await rm(temporary, { force: true });
    throw new SafetensorsError(path, `cannot be written: ${(error as Error).message}`);
  });
}

/** Reads every tensor as float32 (I64 scalars as bigint), with the file's metadata. */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const bytes = await readFileFor(path, 'a safetensors file', (file, reason) => new SafetensorsError(file, reason));
  return parseSafetensors(bytes, path);
}

/** The tensors of a safetensors file, ready for Module.loadStateDict. */
export async function loadSafetensors(path: string): Promise<Record<string, HostTensor | bigint>> {
  return (await readSafetensors(path)).tensors;
}
