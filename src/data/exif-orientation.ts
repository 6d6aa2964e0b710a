// A JPEG's EXIF orientation, applied to its pixels. Cameras store pictures as the sensor saw
// them and say in this tag how to turn them upright; browsers apply it when they decode
// (createImageBitmap), jpeg-js does not, so without this a phone photo would be classified
// lying on its side by `resnext predict` and upright by the page.

/** The EXIF orientation (1-8) in a JPEG's APP1 segment; 1 (as stored) when there is none. */
export function jpegOrientation(bytes: Uint8Array): number {
  let at = 2; // after SOI
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (marker === 0xda) break; // start of scan: no more metadata
    if (marker === 0xe1 && isExif(bytes, at + 4)) return tiffOrientation(bytes, at + 10, at + 2 + length);
    at += 2 + length;
  }
  return 1;
}

const isExif = (bytes: Uint8Array, at: number) =>
  String.fromCharCode(...bytes.subarray(at, at + 4)) === 'Exif' && bytes[at + 4] === 0 && bytes[at + 5] === 0;

/** Tag 0x0112 of IFD0 in the TIFF block at [start, end). */
function tiffOrientation(bytes: Uint8Array, start: number, end: number): number {
  if (end > bytes.length || end - start < 8) return 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
  const little = view.getUint16(0) === 0x4949; // "II"; "MM" is big-endian
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > view.byteLength) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > view.byteLength) return 1;
    if (view.getUint16(entry, little) === 0x0112) {
      const value = view.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

export interface Pixels {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** The picture turned upright: orientations 5-8 swap width and height. */
export function applyOrientation(image: Pixels, orientation: number): Pixels {
  if (orientation <= 1 || orientation > 8) return image;
  const { width: w, height: h, rgba } = image;
  const swap = orientation >= 5;
  const [width, height] = swap ? [h, w] : [w, h];
  const out = new Uint8Array(rgba.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = source(orientation, x, y, w, h);
      out.set(rgba.subarray(4 * (sy * w + sx), 4 * (sy * w + sx) + 4), 4 * (y * width + x));
    }
  }
  return { width, height, rgba: out };
}

/** Where upright pixel (x, y) lies in the stored picture of w x h. */
function source(orientation: number, x: number, y: number, w: number, h: number): [number, number] {
  switch (orientation) {
    case 2: // mirrored
      return [w - 1 - x, y];
    case 3: // turned 180°
      return [w - 1 - x, h - 1 - y];
    case 4: // upside down, mirrored
      return [x, h - 1 - y];
    case 5: // transposed
      return [y, x];
    case 6: // stored turned 90° counter-clockwise: turn it clockwise
      return [y, h - 1 - x];
    case 7: // transverse
      return [w - 1 - y, h - 1 - x];
    default: // 8: stored turned 90° clockwise
      return [w - 1 - y, x];
  }
}
