// `npm run web`: Vite serves the page in this folder, with the engine's TypeScript from
// ../src, and answers GET /data/<dataset>.bin[?train=N&test=M] with the dataset the CLI
// trains on: loaded by the Node loader (cached in ../.cache, where `resnext train` keeps
// it) and sent as the bundle that src/data/dataset-format.ts decodes in the page; and
// GET /pretrained/model.safetensors with the shipped model (RESNEXT_WEB_MODEL names another
// file: the page test serves one it makes).
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Connect, type Plugin } from 'vite';
import { encodeDatasetBundle, type Dataset } from '../src/data/dataset-format.js';
import { loadDataset } from '../src/data/datasets.js';
import { ArgumentError, ResnextError } from '../src/errors.js';
import { SHIPPED_MODEL } from '../src/pretrained/classifier.js';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: webRoot,
  plugins: [datasetServer(), modelServer()],
  // The page imports the engine from ../src, outside this root.
  server: { fs: { allow: [repoRoot] } },
  clearScreen: false,
});

function datasetServer(): Plugin {
  const loaded = new Map<string, Promise<Dataset>>();
  const load = (name: string): Promise<Dataset> => {
    if (!loaded.has(name)) {
      // CIFAR-10 is read from its binary batches, which npm does not ship.
      const promise = loadDataset(name, {
        cacheDir: join(repoRoot, '.cache'),
        dataDir: process.env.RESNEXT_CIFAR10_DIR,
        log: (m) => console.log(`[data] ${m}`),
      });
      promise.catch(() => loaded.delete(name)); // a failed load is tried again on the next request
      loaded.set(name, promise);
    }
    return loaded.get(name)!;
  };
  const handle = async (request: IncomingMessage, response: ServerResponse, next: () => void): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const name = /^\/([\w-]+)\.bin$/.exec(url.pathname)?.[1];
    if (!name || request.method !== 'GET') return next();
    try {
      const limits = { train: limit(url, 'train'), test: limit(url, 'test') };
      const body = encodeDatasetBundle(await load(name), limits);
      response.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(body.length),
        'cache-control': 'no-store',
      });
      response.end(body);
    } catch (error) {
      response.writeHead(error instanceof ResnextError ? 400 : 500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end((error as Error).message);
    }
  };
  return servedAt('resnext-datasets', '/data', handle);
}

function modelServer(): Plugin {
  const handle = async (request: IncomingMessage, response: ServerResponse, next: () => void): Promise<void> => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/model.safetensors') return next();
    const file = process.env.RESNEXT_WEB_MODEL ?? join(repoRoot, SHIPPED_MODEL);
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
      response.end(body);
    } catch (error) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`${file} could not be read (${(error as Error).message})`);
    }
  };
  return servedAt('resnext-shipped-model', '/pretrained', handle);
}

type Handler = (request: IncomingMessage, response: ServerResponse, next: () => void) => Promise<void>;

/** A plugin that answers requests under `route` in both the dev and the preview server. */
function servedAt(name: string, route: string, handle: Handler): Plugin {
  const use = (server: { middlewares: Connect.Server }) =>
    void server.middlewares.use(route, (request, response, next) => void handle(request, response, next));
  return { name, configureServer: use, configurePreviewServer: use };
}

function limit(url: URL, key: string): number | undefined {
  const text = url.searchParams.get(key);
  if (text === null) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new ArgumentError('/data', key, `must be a positive whole number, got '${text}'`);
  return value;
}
