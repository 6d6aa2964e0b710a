// The page once the engine has a device: the adapter panel, the benchmark, and training on
// the dataset the dev server sends (web/vite.config.ts answers /data/<name>.bin).
import { decodeDatasetBundle, type Dataset } from '../../src/data/dataset-format.js';
import { runtime } from '../../src/runtime/index.js';
import { showAdapter } from './adapter-panel.js';
import { BenchPanel } from './bench-panel.js';
import { byId, fromBase64, setStatus, toBase64 } from './dom.js';
import type { PageState, ResnextPageHook } from './hook.js';
import { pageOptions } from './params.js';
import { PredictPanel } from './predict-panel.js';
import { TrainPanel } from './train-panel.js';

export type App = Omit<ResnextPageHook, 'ready'>;

export async function startApp(): Promise<App> {
  setStatus('reading the adapter…');
  const adapter = await showAdapter(byId('adapter-info'));
  const options = pageOptions(new URLSearchParams(location.search), adapter.software);
  const datasetFor = datasetSource(options.config.trainLimit, options.config.testLimit);
  const predict = new PredictPanel({
    canvas: byId('predict-canvas'),
    preview: byId('predict-preview'),
    clear: byId('predict-clear'),
    upload: byId('predict-upload'),
    status: byId('predict-status'),
    results: byId('predict-results'),
  });
  let train: TrainPanel | null = null;
  const bench = new BenchPanel(
    {
      button: byId('bench-run'),
      images: byId('bench-images'),
      status: byId('bench-status'),
      chart: byId('bench-chart'),
    },
    options.benchImages,
    async () => train?.pause(),
  );
  setStatus(`loading ${options.config.dataset}…`);
  train = new TrainPanel(options, await datasetFor(options.config.dataset), datasetFor);
  const panel = train;
  void runtime().device.lost.then((info) =>
    panel.deviceLost(info.message ? `${info.reason}: ${info.message}` : info.reason),
  );
  setStatus(
    `ready: ${adapter.software ? 'a software adapter, so the quick settings apply' : 'press Start training, or run the benchmark'}`,
    'ok',
  );
  if (options.autotrain > 0) void panel.trainSteps(options.autotrain);
  return {
    train: (steps) => panel.trainSteps(steps),
    bench: (request) => bench.run(request),
    checkpoint: async () => toBase64((await panel.saveCheckpoint()).bytes),
    predict: async (rgba, width, height) => predict.predict(fromBase64(rgba), width, height),
    state: (): PageState => ({ adapter, classifier: predict.model, ...panel.state() }),
    loseDevice: async () => {
      const lost = runtime().device.lost;
      runtime().device.destroy();
      await lost;
      await panel.pause();
      return panel.error ?? '';
    },
  };
}

/** Fetches datasets by name with the page's subset limits, each once. */
function datasetSource(train: number | undefined, test: number | undefined): (name: string) => Promise<Dataset> {
  const fetched = new Map<string, Promise<Dataset>>();
  const query = new URLSearchParams();
  if (train) query.set('train', String(train));
  if (test) query.set('test', String(test));
  return (name) => {
    const url = `data/${encodeURIComponent(name)}.bin?${query}`;
    if (!fetched.has(name)) fetched.set(name, fetchDataset(url));
    return fetched.get(name)!;
  };
}

async function fetchDataset(url: string): Promise<Dataset> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return decodeDatasetBundle(new Uint8Array(await response.arrayBuffer()), url);
}
