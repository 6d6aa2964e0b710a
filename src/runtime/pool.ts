// Size-bucketed pool of storage buffers. A released buffer may still be read by commands
// recorded but not yet submitted, and queue.writeBuffer into a reused buffer would land
// before those commands run; so releases wait in `pending` until the next submit.

const SMALLEST = 256;
const POWER_OF_TWO_UP_TO = 1 << 16;

/** Rounds a request up to its bucket: powers of two up to 64 KiB, then 64ths of a power of
 *  two, so a large buffer wastes at most 1/64 of itself. ResNet activations are 49 * 2^k
 *  bytes per channel and image at every stage (56x56, 28x28, 14x14, 7x7 planes): 49/64 of a
 *  power of two, which sixteenths rounded up by 6%. Measured on resnext50_32x4d at 224
 *  (bench/memory.ts): a training step's memory per image 110.1 -> 103.8 MiB, the pool's
 *  allocation after a batch-2 step 532 -> 507 MiB (before that: 128.5 -> 120.9 MiB per image
 *  from powers of two up to 1 MiB and eighths beyond to sixteenths). */
export function bucketSize(bytes: number): number {
  const b = Math.max(SMALLEST, bytes);
  const pow = 2 ** Math.ceil(Math.log2(b));
  if (pow <= POWER_OF_TWO_UP_TO) return pow;
  const step = pow / 64;
  return Math.ceil(b / step) * step;
}

export interface PoolStats {
  /** Bytes held in GPU buffers, in use or free. */
  allocatedBytes: number;
  inUseBytes: number;
  /** The most bytes in use at once since the pool was made or resetPeak() was called. */
  peakInUseBytes: number;
  liveBuffers: number;
  freeBuffers: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  /** Bytes released since the last submit, not yet reusable. */
  pendingBytes = 0;
  private allocatedBytes = 0;
  private inUseBytes = 0;
  private peakInUseBytes = 0;
  private liveBuffers = 0;
  private freeBuffers = 0;

  constructor(
    private readonly create: (size: number) => GPUBuffer,
    /** No buffer is made larger than this, even where its bucket would be. */
    private readonly largest = Infinity,
  ) {}

  /** Buffers are whole vec4s (sizes are multiples of 16 bytes), which kernels that work
   *  four elements at a time rely on. */
  acquire(bytes: number): GPUBuffer {
    const size = Math.ceil(Math.max(bytes, Math.min(bucketSize(bytes), this.largest)) / 16) * 16;
    const reused = this.free.get(size)?.pop();
    if (reused) this.freeBuffers--;
    const buffer = reused ?? this.create(size);
    if (!reused) {
      this.allocatedBytes += size;
      this.liveBuffers++;
    }
    this.inUseBytes += size;
    this.peakInUseBytes = Math.max(this.peakInUseBytes, this.inUseBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    this.inUseBytes -= buffer.size;
    this.pendingBytes += buffer.size;
    this.pending.push(buffer);
  }

  /** Called after each submit: released buffers become reusable. */
  recycle(): void {
    for (const buffer of this.pending) {
      let list = this.free.get(buffer.size);
      if (!list) this.free.set(buffer.size, (list = []));
      list.push(buffer);
      this.freeBuffers++;
    }
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Starts a new peak from what is in use now (to measure one forward, say). */
  resetPeak(): void {
    this.peakInUseBytes = this.inUseBytes;
  }

  stats(): PoolStats {
    return {
      allocatedBytes: this.allocatedBytes,
      inUseBytes: this.inUseBytes,
      peakInUseBytes: this.peakInUseBytes,
      liveBuffers: this.liveBuffers,
      freeBuffers: this.freeBuffers,
    };
  }
}
