// Headless Chromium with WebGPU for the browser tests: Debian's `chromium` (installed by
// scripts/setup-webgpu.sh) driven by puppeteer-core, which downloads no browser. Pages are
// served from 127.0.0.1, a secure context, since navigator.gpu exists only in one.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
/** SwiftShader, Chrome's software adapter, where no GPU is: the flags turn WebGPU on for it. */
const WEBGPU_FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

/** The browser to drive: $CHROMIUM_PATH, else the first system Chromium found, else null. */
export function chromiumPath(): string | null {
  const chosen = process.env.CHROMIUM_PATH;
  if (chosen) return chosen;
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath)
    throw new Error("no Chromium found: run `npm run setup` (it installs Debian's chromium) or set CHROMIUM_PATH");
  // lavapipe's LP_NATIVE_VECTOR_WIDTH (set by the adapter legs) must not reach Chromium: its
  // GPU process then often finds no adapter at all.
  const { LP_NATIVE_VECTOR_WIDTH: _lavapipeOnly, ...env } = process.env;
  return puppeteer.launch({ executablePath, headless: true, args: WEBGPU_FLAGS, protocolTimeout: 600_000, env });
}

const TYPES: Record<string, string> = {
  '': 'text/html; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
};

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Serves `routes` (path -> body) and, for other paths, files under `root`, on 127.0.0.1. */
export async function serve(routes: Record<string, string | Uint8Array>, root?: string): Promise<Served> {
  const respond = async (request: IncomingMessage, response: ServerResponse) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const body =
      routes[path] ?? (root ? await readFile(join(root, normalize(path))).catch(() => undefined) : undefined);
    if (body === undefined) {
      response.writeHead(404).end(`not found: ${path}`);
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
  };
  return listen((request, response) => void respond(request, response));
}

/** Serves every request with `handler` (a Vite dev server's middlewares, say) on 127.0.0.1,
 *  on a port the system picks; `server` is there for what attaches to it (Vite's HMR socket). */
export async function listen(handler: RequestListener): Promise<Served & { server: Server }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Opens `url`, recording the page's console and uncaught errors (a failing test prints them). */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; log: string[] }> {
  const page = await browser.newPage();
  const log: string[] = [];
  page.on('console', (message) => log.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => log.push(`pageerror: ${String(error)}`));
  await page.goto(url);
  return { page, log };
}

/** Waits until the page's script has set `globalThis[name]`; on a timeout, throws with the
 *  page's console, which says why it did not. */
export async function waitForGlobal(page: Page, log: string[], name: string, timeout: number): Promise<void> {
  await page
    .waitForFunction((key) => key in globalThis, { timeout }, name)
    .catch(() => {
      throw new Error(`the page never set ${name}:\n${log.join('\n')}`);
    });
}
