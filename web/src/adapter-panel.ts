// The adapter panel: what the engine runs on, as `resnext device` prints it, plus what only
// the page's navigator.gpu tells (subgroup sizes, the adapter's full feature list).
import { describeAdapter, runtime } from '../../src/runtime/index.js';
import { el, formatCount } from './dom.js';
import type { PageState } from './hook.js';

const KEY_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Fills `list` (a <dl>) and returns the adapter's identity for the hook's state(). */
export async function showAdapter(list: HTMLElement): Promise<NonNullable<PageState['adapter']>> {
  const { report, device } = runtime();
  const info = device.adapterInfo;
  // The engine's device enables only the features it uses; a second adapter lists them all.
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  const features = [...(adapter?.features ?? device.features)].sort();
  const subgroups =
    info.subgroupMinSize === undefined ? 'not reported' : `${info.subgroupMinSize}–${info.subgroupMaxSize}`;
  const rows: [string, Node | string][] = [
    ['adapter', describeAdapter(report)],
    ['vendor', info.vendor || '—'],
    ['architecture', info.architecture || '—'],
    ['description', info.description || '—'],
    ['subgroup sizes', `${subgroups}${report.subgroupSize ? ` (the engine plans for ${report.subgroupSize})` : ''}`],
    ['features', featureList(features, device.features)],
    ['limits', limitTable(device.limits)],
  ];
  list.replaceChildren(...rows.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
  return {
    description: info.description,
    vendor: info.vendor,
    architecture: info.architecture,
    software: report.software,
  };
}

/** Every feature of the adapter; those the engine enabled on its device are marked. */
function featureList(features: string[], enabled: GPUSupportedFeatures): HTMLElement {
  const items = features.map((f) =>
    el('li', enabled.has(f) ? { class: 'enabled', title: 'enabled by the engine' } : {}, f),
  );
  return el('ul', { class: 'chips' }, ...items);
}

function limitTable(limits: GPUSupportedLimits): HTMLElement {
  const rows = KEY_LIMITS.map((name) =>
    el('tr', {}, el('td', {}, name), el('td', { class: 'number' }, formatLimit(limits[name]))),
  );
  return el('table', { class: 'limits' }, el('tbody', {}, ...rows));
}

const formatLimit = (value: number): string =>
  value >= 1 << 20 ? `${formatCount(Math.round(value / (1 << 20)))} MiB` : formatCount(value);
