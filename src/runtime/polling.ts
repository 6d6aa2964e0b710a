// Dawn's Node binding learns that GPU work has finished by polling: while any promise of
// its is pending, it ticks the device from a setImmediate callback that queues itself
// again, so the main thread spins. On a CPU adapter that spin takes a core from the
// threads that run the shaders: training on lavapipe, the main thread used 85% of a core
// and the two shader threads 49% each. The binding looks setImmediate up on the global
// object at every tick, so while one of our waits is pending, setImmediate (for the whole
// process) runs its callback on a 1 ms timer instead.

const POLL_MS = 1;
const immediate = globalThis.setImmediate;
const clearImmediateOf = globalThis.clearImmediate;
const onTimer = new WeakSet<object>();
const timed = ((callback: (...args: unknown[]) => void, ...args: unknown[]) => {
  const handle = setTimeout(callback, POLL_MS, ...args);
  onTimer.add(handle);
  return handle;
}) as unknown as typeof setImmediate;
// A handle from the timed setImmediate must be cleared as a timer, even after the swap is
// undone (Node's clearImmediate would miscount its immediates on one).
globalThis.clearImmediate = (handle: NodeJS.Immediate | undefined) => {
  if (handle && onTimer.has(handle)) clearTimeout(handle as unknown as NodeJS.Timeout);
  else clearImmediateOf(handle);
};
let waits = 0;

/** Starts a Dawn operation (`start` returns its promise) and settles with it, with Dawn's
 *  polling on a timer until it does. */
export function awaitGpu<T>(start: () => Promise<T>): Promise<T> {
  if (waits++ === 0) globalThis.setImmediate = timed;
  const done = () => {
    if (--waits === 0) globalThis.setImmediate = immediate;
  };
  try {
    return start().finally(done);
  } catch (error) {
    done();
    throw error;
  }
}
