// How ops say what a dispatch runs: the kernel, its tensors by name, its packed uniform and
// the shape of its grid (grid.items, grid.rows, grid.tiles), instead of counting workgroups
// and binding buffers by hand. Runtime.launch() takes a Launch.
import type { UniformData } from './uniforms.js';

export const WORKGROUPS_PER_DIMENSION = 65535;

export type Workgroups = readonly [number, number?, number?];

/** A workgroup grid for `count` workgroups that fits the per-dimension limit. Kernels
 *  recover the linear index as wid.x + wid.y * num_workgroups.x and guard the tail. */
export function linearGrid(count: number): [number, number] {
  const x = Math.max(1, Math.min(count, WORKGROUPS_PER_DIMENSION));
  return [x, Math.max(1, Math.ceil(count / x))];
}

/** The common grid shapes. */
export const grid = {
  /** `n` items (elements, vec4s, runs), `perWorkgroup` of them per workgroup, on a linear
   *  grid (the kernel's index is gid.x + gid.y * num_workgroups.x * WG). */
  items: (n: number, perWorkgroup: number): Workgroups => linearGrid(Math.ceil(n / perWorkgroup)),
  /** One workgroup per row (a plane, a channel, a sample), on a linear grid. */
  rows: (rows: number): Workgroups => linearGrid(rows),
  /** Tiles of tileCols x tileRows over a cols x rows matrix, one z layer per batch entry. */
  tiles: (cols: number, rows: number, tileCols: number, tileRows: number, batch = 1): Workgroups => [
    Math.ceil(cols / tileCols),
    Math.ceil(rows / tileRows),
    batch,
  ],
};

/** Anything that binds as a storage buffer, naming the op and argument when it cannot (a Tensor). */
export interface Bindable {
  buffer(op: string, argument: string): GPUBuffer;
}

export interface Launch {
  /** File name in kernels/ without `.wgsl`. */
  kernel: string;
  entry?: string;
  /** WGSL `override` constants: the pipeline cache keys on them. */
  constants?: Record<string, number>;
  /** Storage buffers by argument name, in binding order from @binding(0): { input: x, out }. */
  bind: Readonly<Record<string, Bindable>>;
  /** The packed uniform struct (STRUCT.pack({...})), bound right after the buffers. */
  params?: UniformData;
  grid: Workgroups;
}

/** The buffers of `bind` in order; a tensor that cannot bind throws naming op and argument. */
export function bindings(op: string, bind: Readonly<Record<string, Bindable>>): GPUBuffer[] {
  const buffers: GPUBuffer[] = [];
  for (const argument in bind) buffers.push(bind[argument].buffer(op, argument));
  return buffers;
}
