// The page's test hook, window.resnextPage: what test/web-page.test.ts (and anyone at the
// devtools console) drives. Plain data only, no DOM types, so Node code can import the
// contract. Everything here is also reachable through the page's buttons.
import type { TrainConfig } from '../../src/train/config.js';
import type { EpochMetrics } from '../../src/train/metrics.js';

/** An epoch as the page reports it: the CLI's metrics line without its kind and rate
 *  (`seconds` counts training in this page, not evaluation). */
export type EpochSummary = Omit<EpochMetrics, 'kind' | 'lr'>;

export interface PageState {
  adapter: { description: string; vendor: string; architecture: string; software: boolean } | null;
  /** The model the picture panel classifies with, once loaded ("small_resnext trained on ..."). */
  classifier: string | null;
  dataset: { name: string; train: number; test: number } | null;
  config: TrainConfig | null;
  /** Epochs completed, and optimiser steps taken. */
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  running: boolean;
  /** Every step's training loss, in order (a loaded checkpoint's earlier steps are not known). */
  losses: number[];
  epochs: EpochSummary[];
  /** The latest evaluation on the test images: an epoch's end, or a loaded checkpoint's. */
  evaluation: { loss: number; error: number; images: number } | null;
  /** The optimiser step of the checkpoint kept in memory (every epoch and every few steps). */
  checkpointStep: number | null;
  /** Why training stopped, when it stopped on an error (a lost device, a diverged loss). */
  error: string | null;
}

export interface BenchRequest {
  /** How many of bench conv's DEFAULT_SHAPES, in order (default all). */
  shapes?: number;
  /** Images per shape (N), replacing each shape's own (default: 1 on a software adapter). */
  images?: number;
  /** Timed runs per kernel (default 3). */
  iterations?: number;
}

/** One bar of the chart: a shape's GFLOP/s on one kernel variant. */
export interface BenchBar {
  shape: string;
  /** 'naive', a forward variant the tuner timed ('subgroup', 'portable', ...), 'forward' or 'backward'. */
  series: string;
  gflops: number;
}

/** The picture panel's answer: the top classes, most probable first. */
export interface PredictSummary {
  predictions: { label: string; index: number; probability: number }[];
  inverted: boolean;
}

export interface ResnextPageHook {
  /** Resolves once the adapter is shown and the dataset and model are ready; rejects with
   *  the message the page shows when they cannot be (no WebGPU, no dataset). */
  ready: Promise<void>;
  /** Trains `steps` more steps (an epoch that ends on the way is evaluated and
   *  checkpointed), pausing a run the buttons started first; resolves with their losses. */
  train(steps: number): Promise<{ losses: number[] }>;
  /** Runs the convolution benchmark and draws its chart; resolves with the bars. */
  bench(request?: BenchRequest): Promise<BenchBar[]>;
  /** A checkpoint at the current position (kept as the last one), as base64 safetensors. */
  checkpoint(): Promise<string>;
  /** Classifies a picture (RGBA bytes as base64, width x height) with the shipped model, as
   *  the panel does for a drawing or an upload; rejects when no model could be loaded. */
  predict(rgba: string, width: number, height: number): Promise<PredictSummary>;
  state(): PageState;
  /** Destroys the GPU device, as a driver reset would; resolves with the message the page shows. */
  loseDevice(): Promise<string>;
}
