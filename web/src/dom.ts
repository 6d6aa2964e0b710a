// Small DOM helpers the panels share.

/** The element with this id; a missing one is a bug in index.html, so it throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/** An element with attributes and children (strings become text). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** The line under the title that says what the page is doing. */
export function setStatus(text: string, kind: 'busy' | 'ok' | 'error' = 'busy'): void {
  const status = byId('status');
  status.textContent = text;
  status.className = `status ${kind}`;
}

/** Replaces the page's panels with one message: what went wrong and what to do. */
export function showFatal(title: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  byId('panels').replaceChildren(
    el('section', { class: 'card fatal', id: 'fatal' }, el('h2', {}, title), el('p', {}, message)),
  );
  setStatus(title, 'error');
}

/** Hands `bytes` to the browser as a download named `fileName`. */
export function download(bytes: Uint8Array, fileName: string): void {
  const link = downloadLink(bytes, fileName, 'download');
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/** A link that downloads `bytes` (its object URL lives as long as the page). */
export function downloadLink(bytes: Uint8Array, fileName: string, text: string): HTMLAnchorElement {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' });
  return el('a', { href: URL.createObjectURL(blob), download: fileName }, text);
}

/** Bytes as base64, in chunks (String.fromCharCode takes only so many arguments). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(binary);
}

/** toBase64's inverse. */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
