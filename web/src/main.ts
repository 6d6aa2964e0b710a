// The web app's entry. The engine is imported dynamically: where there is no WebGPU its
// import rejects with a NoAdapterError whose message says what to enable, and the page
// shows that instead of going blank. window.resnextPage is the test hook (hook.ts).
import { messageOf, showFatal } from './dom.js';
import type { ResnextPageHook } from './hook.js';

async function boot() {
  try {
    await import('../../src/browser.js');
  } catch (error) {
    showFatal('This page needs WebGPU', error);
    throw error;
  }
  try {
    const { startApp } = await import('./app.js');
    return await startApp();
  } catch (error) {
    showFatal('The page could not start', error);
    throw error;
  }
}

const app = boot();
const ready = app.then(() => undefined);
ready.catch(() => undefined); // the page shows the error; a test awaiting `ready` sees it too
const hook: ResnextPageHook = {
  ready,
  train: async (steps) => (await app).train(steps),
  bench: async (request) => (await app).bench(request),
  checkpoint: async () => (await app).checkpoint(),
  predict: async (rgba, width, height) => (await app).predict(rgba, width, height),
  state: () => {
    throw new Error('the page is not ready yet: await resnextPage.ready');
  },
  loseDevice: async () => (await app).loseDevice(),
};
void app.then(
  (ready) => (hook.state = ready.state),
  (error: unknown) => console.error(messageOf(error)),
);
(window as unknown as { resnextPage: ResnextPageHook }).resnextPage = hook;
