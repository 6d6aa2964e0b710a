// Any picture (RGBA bytes of any size) as one normalised input of a trained model, with no
// file system, so the CLI's `predict` and a page prepare an image the same way. The
// datasets' images are small, square and, for the 1-channel sets, light on black: a photo
// or drawing is flattened onto white, turned to luminance, inverted when its background is
// light, padded to a square and area-averaged down to the model's size, then normalised
// exactly as the training loader (loader.ts) normalises the dataset's own bytes.
import { ArgumentError } from '../errors.js';

/** What the model takes: [C, H, W] and the per-channel statistics of its training images. */
export interface ImageTarget {
  shape: readonly number[];
  mean: readonly number[];
  std: readonly number[];
}

export interface PrepareOptions {
  /** Invert the grey levels: 'auto' (the default) does so for 1-channel targets when the
   *  picture's border is light, as the datasets' garments and digits are light on black. */
  invert?: 'auto' | boolean;
}

export interface PreparedImage {
  /** [C, H, W] of the target, normalised. */
  pixels: Float32Array;
  inverted: boolean;
}

/** ITU-R BT.601 luma weights. */
const LUMA = [0.299, 0.587, 0.114];

export function prepareImage(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  target: ImageTarget,
  options: PrepareOptions = {},
): PreparedImage {
  checkArguments(rgba, width, height, target);
  const [C, H, W] = target.shape;
  const planes = C === 1 ? [luminance(rgba)] : [0, 1, 2].map((c) => channel(rgba, c));
  const invert = options.invert ?? 'auto';
  // Colour photos (CIFAR-10) are not light-on-dark drawings: 'auto' leaves them alone.
  const inverted = invert === 'auto' ? C === 1 && borderMean(planes[0], width, height) > 127.5 : invert;
  if (inverted) for (const plane of planes) for (let i = 0; i < plane.length; i++) plane[i] = 255 - plane[i];
  const pixels = new Float32Array(C * H * W);
  planes.forEach((plane, c) => {
    const square = padToSquare(plane, width, height, borderMean(plane, width, height));
    const resized = resizeArea(square.values, square.side, square.side, W, H);
    // As loader.ts's writeImage: byte * 1 / (255 std) - mean / std, so that an image of the
    // dataset's own size and bytes gives the very inputs the model was trained on.
    const scale = 1 / (255 * target.std[c]);
    const shift = target.mean[c] / target.std[c];
    for (let i = 0; i < H * W; i++) pixels[c * H * W + i] = resized[i] * scale - shift;
  });
  return { pixels, inverted };
}

function checkArguments(rgba: ArrayLike<number>, width: number, height: number, target: ImageTarget): void {
  for (const [name, value] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new ArgumentError('prepareImage', name, `must be a positive integer, got ${value}`);
  }
  if (rgba.length !== width * height * 4)
    throw new ArgumentError(
      'prepareImage',
      'rgba',
      `holds ${rgba.length} bytes, but a ${width}x${height} RGBA image has ${width * height * 4}`,
    );
  const [C, H, W] = target.shape;
  if (target.shape.length !== 3 || (C !== 1 && C !== 3) || !(H > 0 && W > 0))
    throw new ArgumentError('prepareImage', 'target', `shape [${target.shape.join(', ')}] is not [1 or 3, H, W]`);
  if (target.mean.length !== C || target.std.length !== C || target.std.some((s) => !(s > 0)))
    throw new ArgumentError('prepareImage', 'target', `needs ${C} means and ${C} positive standard deviations`);
}

/** Grey levels 0..255 of the picture composited over white (transparent means paper). */
function luminance(rgba: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++) {
    const [r, g, b, a] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]];
    // Grey pixels keep their exact byte: the weighted sum can be off by an ulp.
    const y = r === g && g === b ? r : LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
    out[i] = a === 255 ? y : (a * y + (255 - a) * 255) / 255;
  }
  return out;
}

/** One colour channel 0..255 composited over white. */
function channel(rgba: ArrayLike<number>, c: number): Float32Array {
  const out = new Float32Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++) {
    const a = rgba[4 * i + 3];
    out[i] = a === 255 ? rgba[4 * i + c] : (a * rgba[4 * i + c] + (255 - a) * 255) / 255;
  }
  return out;
}

/** The mean of the outermost ring of pixels: the picture's background. */
function borderMean(plane: Float32Array, width: number, height: number): number {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < height; y++) {
    const edgeRow = y === 0 || y === height - 1;
    for (let x = 0; x < width; x += edgeRow || x === width - 1 ? 1 : width - 1) {
      sum += plane[y * width + x];
      count++;
    }
  }
  return sum / count;
}

/** The plane centred on a square of the background value, so resizing keeps its aspect. */
function padToSquare(
  plane: Float32Array,
  width: number,
  height: number,
  background: number,
): { values: Float32Array; side: number } {
  if (width === height) return { values: plane, side: width };
  const side = Math.max(width, height);
  const values = new Float32Array(side * side).fill(background);
  const top = Math.floor((side - height) / 2);
  const left = Math.floor((side - width) / 2);
  for (let y = 0; y < height; y++) values.set(plane.subarray(y * width, (y + 1) * width), (y + top) * side + left);
  return { values, side };
}

/** For each output pixel along one axis, the source pixels it covers and their weights
 *  (the overlap of the intervals, summing to 1): exact area averaging when shrinking,
 *  pixel replication with blended seams when enlarging. */
function axisWeights(from: number, to: number): { index: number; weight: number }[][] {
  const step = from / to;
  return Array.from({ length: to }, (_, i) => {
    const start = i * step;
    const end = start + step;
    const taps: { index: number; weight: number }[] = [];
    for (let s = Math.floor(start); s < Math.min(Math.ceil(end), from); s++) {
      const overlap = Math.min(end, s + 1) - Math.max(start, s);
      if (overlap > 1e-12) taps.push({ index: s, weight: overlap / step });
    }
    return taps;
  });
}

/** A box-filter resize, separable: rows first, then columns. Planes are float32, which
 *  holds every byte exactly and halves the memory of a phone's photo; sums are doubles. */
function resizeArea(values: Float32Array, width: number, height: number, W: number, H: number): Float32Array {
  if (width === W && height === H) return values;
  const across = axisWeights(width, W);
  const down = axisWeights(height, H);
  const rows = new Float32Array(height * W);
  for (let y = 0; y < height; y++)
    across.forEach((taps, x) => {
      let v = 0;
      for (const { index, weight } of taps) v += values[y * width + index] * weight;
      rows[y * W + x] = v;
    });
  const out = new Float32Array(H * W);
  down.forEach((taps, y) => {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (const { index, weight } of taps) v += rows[index * W + x] * weight;
      out[y * W + x] = v;
    }
  });
  return out;
}
