// What differs between the places the engine runs: where the WebGPU entry point comes
// from, how a wait for the GPU is driven, where tuning choices persist and which kernels
// the environment asks for. The core sees only this interface; the package's entries
// (src/index.ts for Node, src/browser.ts for pages) install their own before init().

/** Where the autotuner's choices persist between processes or page loads. */
export interface TuningStore {
  /** Everything saved, by adapter then key; a missing or unreadable store reads as {}. */
  read(): Record<string, Record<string, string>>;
  write(all: Record<string, Record<string, string>>): void;
}

export interface Platform {
  /** The WebGPU entry point: Dawn's in Node, navigator.gpu in a page; null when absent. */
  gpu(): GPU | null;
  /** How reports name the backend (Dawn's Vulkan/Metal/D3D12, or the browser's WebGPU). */
  backend: string;
  /** What to tell a user whose environment has no adapter. */
  noAdapterAdvice: string;
  /** Drives one wait for the GPU (Node's Dawn needs help polling; a page does not). */
  awaitGpu<T>(start: () => Promise<T>): Promise<T>;
  /** Opens the store a tuning cache attaches to by name (a file path in Node). */
  openTuningStore(name: string): TuningStore;
  /** Keep every op on its portable kernels (RESNEXT_KERNELS=portable in Node). */
  portableKernels: boolean;
}

/** An in-memory store: what a page without localStorage keeps for its lifetime. */
export function memoryTuningStore(): TuningStore {
  let saved: Record<string, Record<string, string>> = {};
  return { read: () => structuredClone(saved), write: (all) => (saved = structuredClone(all)) };
}

/** A store in the page's localStorage under `name`, or in memory where there is none. */
export function localStorageTuningStore(name: string): TuningStore {
  const storage = (globalThis as { localStorage?: Storage }).localStorage;
  if (!storage) return memoryTuningStore();
  return {
    read() {
      try {
        const parsed: unknown = JSON.parse(storage.getItem(name) ?? '{}');
        return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
          ? (parsed as Record<string, Record<string, string>>)
          : {};
      } catch {
        return {};
      }
    },
    write(all) {
      try {
        storage.setItem(name, JSON.stringify(all));
      } catch {
        // A full or disabled storage only costs re-tuning on the next load.
      }
    },
  };
}

const browserPlatform: Platform = {
  gpu: () => (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu ?? null,
  backend: 'WebGPU (browser)',
  noAdapterAdvice:
    'This page needs WebGPU: use a current Chrome, Edge or Safari 26, or Firefox with dom.webgpu.enabled; ' +
    'on Linux, Chrome needs --enable-unsafe-webgpu (and Vulkan) until WebGPU ships there by default.',
  awaitGpu: (start) => start(),
  openTuningStore: localStorageTuningStore,
  portableKernels: false,
};

let current: Platform = browserPlatform;

/** The platform init() acquires its device through. */
export function platform(): Platform {
  return current;
}

/** Replaces parts of the platform; the package's Node entry calls it before init(). */
export function setPlatform(changes: Partial<Platform>): void {
  current = { ...current, ...changes };
}
