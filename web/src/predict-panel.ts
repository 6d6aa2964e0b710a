// The shipped model in the tab: draw a garment or drop in a picture, and the trained small
// ResNeXt classifies it on this device's GPU the way `resnext predict` does in Node: the
// same preparation (src/data/image-prep.ts) and the same classifier
// (src/pretrained/classifier.ts), so the two agree on the same picture.
import { prepareImage, type PreparedImage } from '../../src/data/image-prep.js';
import { parseSafetensors } from '../../src/io/safetensors.js';
import type { ResNet } from '../../src/models/resnet.js';
import {
  classifierInfo,
  classify,
  loadClassifier,
  type ClassifierInfo,
  type Prediction,
} from '../../src/pretrained/classifier.js';
import { parseCheckpoint } from '../../src/train/checkpoint-format.js';
import { el, messageOf } from './dom.js';

/** Where the dev server sends the shipped model (web/vite.config.ts). */
export const SHIPPED_MODEL_URL = 'pretrained/model.safetensors';
const TOP_K = 3;
/** Uploads are scaled down to this many pixels on their longer side before preparation:
 *  the model sees 28x28, and area-averaging a 12-megapixel photo in JavaScript takes seconds. */
const MAX_UPLOAD_SIDE = 512;

export interface PredictResult {
  predictions: Prediction[];
  inverted: boolean;
}

export interface PredictElements {
  canvas: HTMLCanvasElement;
  preview: HTMLCanvasElement;
  clear: HTMLButtonElement;
  upload: HTMLInputElement;
  status: HTMLElement;
  results: HTMLElement;
}

export class PredictPanel {
  /** Resolves once the model is loaded; rejects with what the page shows when it cannot be. */
  readonly ready: Promise<void>;
  private classifier: { model: ResNet; info: ClassifierInfo } | null = null;
  private description: string | null = null;

  constructor(
    private readonly elements: PredictElements,
    url = SHIPPED_MODEL_URL,
  ) {
    this.clearCanvas();
    this.listen();
    this.ready = this.load(url);
    this.ready.catch((error: unknown) => this.show(`no model to classify with: ${messageOf(error)}`));
  }

  /** "small_resnext trained on fashion-mnist (12 epochs)", once loaded. */
  get model(): string | null {
    return this.description;
  }

  /** The top classes of a picture given as RGBA bytes, shown in the panel. */
  async predict(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): Promise<PredictResult> {
    await this.ready;
    const { model, info } = this.classifier!;
    const prepared = prepareImage(rgba, width, height, info.dataset);
    const [predictions] = await classify(model, info.dataset, prepared.pixels, TOP_K);
    this.showResult(prepared, predictions, info);
    return { predictions, inverted: prepared.inverted };
  }

  private async load(url: string): Promise<void> {
    this.show('loading the trained model…');
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
    const file = parseSafetensors(new Uint8Array(await response.arrayBuffer()), url);
    const checkpoint = parseCheckpoint(file, url);
    const info = await classifierInfo(checkpoint, file.metadata, url);
    this.classifier = { model: loadClassifier(checkpoint, info), info };
    this.description = `${info.config.model} trained on ${info.dataset.name} (${checkpoint.position.epoch} epochs)`;
    this.show(`${this.description}: draw a ${info.dataset.classes.slice(0, 3).join(', ')}… or upload a picture`);
  }

  private listen(): void {
    const { canvas, clear, upload } = this.elements;
    const context = canvas.getContext('2d')!;
    let drawing = false;
    const at = (event: PointerEvent): [number, number] => {
      const box = canvas.getBoundingClientRect();
      return [
        ((event.clientX - box.left) * canvas.width) / box.width,
        ((event.clientY - box.top) * canvas.height) / box.height,
      ];
    };
    canvas.addEventListener('pointerdown', (event) => {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      context.beginPath();
      context.moveTo(...at(event));
    });
    canvas.addEventListener('pointermove', (event) => {
      if (!drawing) return;
      context.lineTo(...at(event));
      context.stroke();
    });
    canvas.addEventListener('pointerup', () => {
      drawing = false;
      void this.predictCanvas();
    });
    clear.addEventListener('click', () => this.clearCanvas());
    upload.addEventListener('change', () => {
      const file = upload.files?.[0];
      upload.value = ''; // so that picking the same file again classifies it again
      if (file) void this.predictFile(file);
    });
  }

  /** A black ground with white strokes: the datasets' garments are light on black. */
  private clearCanvas(): void {
    const { canvas, results } = this.elements;
    const context = canvas.getContext('2d')!;
    context.fillStyle = '#000';
    context.fillRect(0, 0, canvas.width, canvas.height);
    Object.assign(context, { strokeStyle: '#fff', lineWidth: canvas.width / 14, lineCap: 'round', lineJoin: 'round' });
    results.replaceChildren();
  }

  private async predictCanvas(): Promise<void> {
    const { canvas } = this.elements;
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    await this.guard(() => this.predict(pixels.data, pixels.width, pixels.height));
  }

  private async predictFile(file: File): Promise<void> {
    await this.guard(async () => {
      const bitmap = await createImageBitmap(file);
      const scale = Math.min(1, MAX_UPLOAD_SIDE / Math.max(bitmap.width, bitmap.height));
      const [width, height] = [
        Math.max(1, Math.round(bitmap.width * scale)),
        Math.max(1, Math.round(bitmap.height * scale)),
      ];
      const scratch = new OffscreenCanvas(width, height);
      scratch.getContext('2d')!.drawImage(bitmap, 0, 0, width, height);
      const { canvas } = this.elements;
      this.clearCanvas();
      const fit = Math.min(canvas.width / width, canvas.height / height);
      canvas.getContext('2d')!.drawImage(bitmap, 0, 0, width * fit, height * fit); // what was uploaded, to see
      return this.predict(scratch.getContext('2d')!.getImageData(0, 0, width, height).data, width, height);
    });
  }

  private async guard(body: () => Promise<unknown>): Promise<void> {
    try {
      await body();
    } catch (error) {
      this.show(messageOf(error));
    }
  }

  private showResult(prepared: PreparedImage, predictions: Prediction[], info: ClassifierInfo): void {
    drawPrepared(this.elements.preview, prepared.pixels, info);
    const rows = predictions.map(({ label, probability }) =>
      el(
        'li',
        {},
        el('span', { class: 'label' }, label),
        el('span', { class: 'bar', style: `width: ${(100 * probability).toFixed(1)}%` }),
        el('span', { class: 'value' }, `${(100 * probability).toFixed(1)}%`),
      ),
    );
    this.elements.results.replaceChildren(...rows);
    this.show(`${this.description}${prepared.inverted ? '; the picture was inverted (its ground is light)' : ''}`);
  }

  private show(text: string): void {
    this.elements.status.textContent = text;
  }
}

/** The model's input as grey levels, un-normalised: what the model saw. */
function drawPrepared(canvas: HTMLCanvasElement, pixels: Float32Array, { dataset }: ClassifierInfo): void {
  const [C, H, W] = dataset.shape;
  canvas.width = W;
  canvas.height = H;
  const image = new ImageData(W, H);
  for (let i = 0; i < H * W; i++) {
    for (let c = 0; c < 3; c++) {
      const plane = C === 1 ? 0 : c;
      image.data[4 * i + c] = 255 * (pixels[plane * H * W + i] * dataset.std[plane] + dataset.mean[plane]);
    }
    image.data[4 * i + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}
