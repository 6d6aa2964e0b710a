// Image files as 8-bit RGBA, for `resnext predict`. The format is told by the file's first
// bytes, not its name (a .png that is really a JPEG still reads); pngjs turns grayscale,
// palette, 16-bit and alpha PNGs into RGBA 8-bit, and jpeg-js decodes baseline and
// progressive JPEGs.
import { decode } from 'jpeg-js';
import { PNG } from 'pngjs';
import { applyOrientation, jpegOrientation } from '../data/exif-orientation.js';
import { ResnextError } from '../errors.js';
import { readFileFor } from './read-file.js';

export interface DecodedImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, row by row. */
  rgba: Uint8Array;
}

/** A file that cannot be read as an image: the message names it and says why. */
export class ImageError extends ResnextError {
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
  }
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
/** jpeg-js refuses larger images by default (its guard against decompression bombs). */
const MAX_MEGAPIXELS = 100;

const startsWith = (bytes: Uint8Array, magic: number[]) => magic.every((b, i) => bytes[i] === b);

/** The image in a PNG or JPEG file. */
export async function readImage(path: string): Promise<DecodedImage> {
  const bytes = await readFileFor(path, 'an image file', (file, reason) => new ImageError(file, reason));
  return decodeImage(bytes, path);
}

/** The image in a PNG or JPEG file's bytes; `source` names it in errors. */
export function decodeImage(bytes: Uint8Array, source = 'image data'): DecodedImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (startsWith(bytes, PNG_MAGIC)) {
    try {
      const png = PNG.sync.read(buffer);
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
    } catch (e) {
      throw new ImageError(source, `is a damaged or unsupported PNG (${(e as Error).message})`);
    }
  }
  if (startsWith(bytes, JPEG_MAGIC)) {
    try {
      const image = decode(buffer, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS });
      const stored = { width: image.width, height: image.height, rgba: image.data };
      return applyOrientation(stored, jpegOrientation(bytes));
    } catch (e) {
      throw new ImageError(source, `is a damaged or unsupported JPEG (${(e as Error).message})`);
    }
  }
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new ImageError(
    source,
    `is neither a PNG nor a JPEG image (it starts with ${head || 'nothing: the file is empty'}); convert it to PNG or JPEG`,
  );
}
