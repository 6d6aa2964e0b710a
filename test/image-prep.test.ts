// prepareImage: pictures of any size and background as the normalised inputs of a model.
import { encode } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../src/data/datasets.js';
import { applyOrientation, jpegOrientation } from '../src/data/exif-orientation.js';
import { prepareImage } from '../src/data/image-prep.js';
import { batches } from '../src/data/loader.js';
import { ArgumentError, Generator } from '../src/index.js';
import { decodeImage } from '../src/node/images.js';

const target = { shape: [1, 28, 28], mean: [0.25], std: [0.5] };
const normalised = (byte: number) => byte * (1 / (255 * 0.5)) - 0.25 / 0.5;

/** A width x height RGBA picture whose pixel (x, y) is pixel(x, y) = [r, g, b, a]. */
function picture(width: number, height: number, pixel: (x: number, y: number) => number[]): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgba.set(pixel(x, y), (y * width + x) * 4);
  return rgba;
}
const grey = (v: number) => [v, v, v, 255];

describe('prepareImage', () => {
  it('inverts a black square on white (a light background), and pads and shrinks it to the target', () => {
    // 60x40: a black 20x20 square in the middle of white paper.
    const rgba = picture(60, 40, (x, y) => grey(x >= 20 && x < 40 && y >= 10 && y < 30 ? 0 : 255));
    const { pixels, inverted } = prepareImage(rgba, 60, 40, target);
    expect(inverted).toBe(true);
    expect(pixels.length).toBe(28 * 28);
    // Inverted, the paper is black and the square white: the middle is the brightest value.
    expect(pixels[14 * 28 + 14]).toBeCloseTo(normalised(255), 5);
    expect(pixels[0]).toBeCloseTo(normalised(0), 5);
    const kept = prepareImage(rgba, 60, 40, target, { invert: false });
    expect(kept.inverted).toBe(false);
    expect(kept.pixels[14 * 28 + 14]).toBeCloseTo(normalised(0), 5);
    expect(kept.pixels[0]).toBeCloseTo(normalised(255), 5);
  });

  it('leaves a light-on-dark picture as it is, and forces inversion when asked', () => {
    const rgba = picture(28, 28, (x, y) => grey(x > 8 && x < 20 && y > 4 && y < 24 ? 200 : 10));
    expect(prepareImage(rgba, 28, 28, target).inverted).toBe(false);
    const forced = prepareImage(rgba, 28, 28, target, { invert: true });
    expect(forced.inverted).toBe(true);
    expect(forced.pixels[0]).toBeCloseTo(normalised(245), 5);
  });

  it('centres a wide picture on a square of its background and averages areas exactly', () => {
    // 56x28 black with a white 2x2 block at x 26-27, y 12-13: padded to 56x56 (14 rows
    // above), it lands on y 26-27, which halving maps to the one output pixel (13, 13).
    const rgba = picture(56, 28, (x, y) => grey(x >= 26 && x < 28 && y >= 12 && y < 14 ? 255 : 0));
    const { pixels } = prepareImage(rgba, 56, 28, target);
    const bright = [...pixels.keys()].filter((i) => pixels[i] > normalised(0) + 1e-6);
    expect(bright).toEqual([13 * 28 + 13]);
    expect(pixels[13 * 28 + 13]).toBeCloseTo(normalised(255), 5);
  });

  it('enlarges a small picture by repeating its pixels', () => {
    const rgba = picture(14, 14, (x, y) => grey((x * 14 + y) % 256));
    const { pixels } = prepareImage(rgba, 14, 14, target, { invert: false });
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++)
        expect(pixels[y * 28 + x]).toBeCloseTo(normalised((Math.floor(x / 2) * 14 + Math.floor(y / 2)) % 256), 5);
  });

  it('composites transparency over white, and weighs colours as BT.601 luma', () => {
    const clear = prepareImage(
      picture(5, 5, () => [0, 0, 0, 0]),
      5,
      5,
      target,
    );
    expect(clear.inverted).toBe(true);
    expect(Math.max(...clear.pixels)).toBeCloseTo(normalised(0), 5);
    const red = prepareImage(
      picture(3, 3, () => [255, 0, 0, 255]),
      3,
      3,
      target,
      { invert: false },
    );
    expect(red.pixels[100]).toBeCloseTo(normalised(0.299 * 255), 5);
  });

  it("gives a dataset image of the model's own size exactly the loader's normalisation of its bytes", async () => {
    const dataset = await loadDataset('fashion-mnist', { cacheDir: '.cache' });
    const size = 28 * 28;
    const [batch] = batches(dataset, dataset.test, {
      batchSize: 8,
      train: false,
      generator: new Generator(0),
      limit: 8,
    });
    for (let i = 0; i < 8; i++) {
      const bytes = dataset.test.images.subarray(i * size, (i + 1) * size);
      const { pixels, inverted } = prepareImage(
        picture(28, 28, (x, y) => grey(bytes[y * 28 + x])),
        28,
        28,
        dataset,
      );
      expect(inverted, `image ${i}`).toBe(false);
      expect(pixels).toEqual(batch.x.subarray(i * size, (i + 1) * size));
    }
  });

  it('keeps the colours of a 3-channel target, normalised per channel, never inverting by itself', () => {
    const rgb = { shape: [3, 4, 4], mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 1] };
    const { pixels, inverted } = prepareImage(
      picture(8, 8, () => [255, 255, 0, 255]),
      8,
      8,
      rgb,
    );
    expect(inverted).toBe(false);
    expect([pixels[0], pixels[16], pixels[32]].map((v) => v.toFixed(4))).toEqual(
      [(1 - 0.1) / 0.5, (1 - 0.2) / 0.25, (0 - 0.3) / 1].map((v) => v.toFixed(4)),
    );
  });

  it('names the argument that is wrong', () => {
    expect(() => prepareImage(new Uint8Array(10), 2, 2, target)).toThrow(ArgumentError);
    expect(() => prepareImage(new Uint8Array(10), 2, 2, target)).toThrow(
      /'rgba' holds 10 bytes.*2x2 RGBA image has 16/,
    );
    expect(() => prepareImage(new Uint8Array(0), 0, 2, target)).toThrow(/'width' must be a positive integer/);
    expect(() => prepareImage(new Uint8Array(16), 2, 2, { ...target, std: [0] })).toThrow(/'target'/);
  });
});

describe('EXIF orientation', () => {
  /** A 3x2 picture whose pixels are numbered 0-5 in their red byte, row by row. */
  const numbered = {
    width: 3,
    height: 2,
    rgba: Uint8Array.from({ length: 24 }, (_, i) => (i % 4 === 0 ? i / 4 : 255)),
  };
  const reds = (p: { rgba: Uint8Array }) => Array.from(p.rgba.filter((_, i) => i % 4 === 0));

  it('turns every orientation upright, swapping the sides for 5-8', () => {
    // Stored:  0 1 2 / 3 4 5.  Upright, as a viewer that reads the tag shows it:
    const upright: Record<number, [number, number, number[]]> = {
      1: [3, 2, [0, 1, 2, 3, 4, 5]],
      2: [3, 2, [2, 1, 0, 5, 4, 3]],
      3: [3, 2, [5, 4, 3, 2, 1, 0]],
      4: [3, 2, [3, 4, 5, 0, 1, 2]],
      5: [2, 3, [0, 3, 1, 4, 2, 5]],
      6: [2, 3, [3, 0, 4, 1, 5, 2]], // turned clockwise
      7: [2, 3, [5, 2, 4, 1, 3, 0]],
      8: [2, 3, [2, 5, 1, 4, 0, 3]], // turned counter-clockwise
    };
    for (const [orientation, [width, height, order]] of Object.entries(upright)) {
      const out = applyOrientation(numbered, Number(orientation));
      expect([out.width, out.height, reds(out)], `orientation ${orientation}`).toEqual([width, height, order]);
    }
  });

  it('reads the tag from an APP1 Exif segment, little- or big-endian, and decodes the JPEG upright', () => {
    const jpeg = encode({ width: 3, height: 2, data: new Uint8Array(24).fill(128) }, 100).data;
    for (const little of [true, false]) {
      const withTag = withOrientation(jpeg, 6, little);
      expect(jpegOrientation(withTag)).toBe(6);
      const decoded = decodeImage(withTag, 'tagged.jpg');
      expect([decoded.width, decoded.height]).toEqual([2, 3]);
    }
    expect(jpegOrientation(jpeg)).toBe(1);
  });
});

/** `jpeg` with an APP1 Exif segment holding one IFD0 entry, Orientation = `value`, after SOI. */
function withOrientation(jpeg: Uint8Array, value: number, little: boolean): Uint8Array {
  const tiff = new DataView(new ArrayBuffer(26));
  tiff.setUint16(0, little ? 0x4949 : 0x4d4d);
  tiff.setUint16(2, 42, little);
  tiff.setUint32(4, 8, little); // IFD0 right after the header
  tiff.setUint16(8, 1, little); // one entry
  tiff.setUint16(10, 0x0112, little);
  tiff.setUint16(12, 3, little); // SHORT
  tiff.setUint32(14, 1, little);
  tiff.setUint16(18, value, little);
  tiff.setUint32(22, 0, little); // no next IFD
  const exif = [...Buffer.from('Exif\0\0', 'latin1'), ...new Uint8Array(tiff.buffer)];
  const segment = [0xff, 0xe1, (exif.length + 2) >> 8, (exif.length + 2) & 0xff, ...exif];
  return Uint8Array.from([...jpeg.subarray(0, 2), ...segment, ...jpeg.subarray(2)]);
}
