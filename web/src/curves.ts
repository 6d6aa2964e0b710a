// The training curves and the confusion matrix, drawn from the session's numbers. The line
// charts are src/train/plot.ts's, the ones `resnext train` writes, made to scale with the page.
import { lineChart, type Series } from '../../src/train/plot.js';
import { el } from './dom.js';
import type { EpochSummary } from './hook.js';

/** Points a curve keeps at most: longer runs are averaged into buckets of steps. */
const MAX_POINTS = 400;
/** Steps the live training error is averaged over. */
const ERROR_WINDOW = 20;

/** `losses` of the steps after `firstStep` (where a loaded checkpoint left off, else 0). */
export function lossChart(losses: number[], firstStep: number): string {
  return scalable(
    lineChart(
      'training loss',
      'step',
      'loss',
      [{ label: 'loss per step', points: bucketed(losses, firstStep), color: '#d62728' }],
      { width: 560, height: 300 },
    ),
  );
}

/** Training error over the last few steps, live, and test error after each epoch. */
export function errorChart(stepErrors: number[], epochs: EpochSummary[], firstStep: number): string {
  const moving = stepErrors.map((_, i) => {
    const window = stepErrors.slice(Math.max(0, i + 1 - ERROR_WINDOW), i + 1);
    return (100 * window.reduce((a, b) => a + b, 0)) / window.length;
  });
  const series: Series[] = [
    { label: `train, last ${ERROR_WINDOW} steps`, points: bucketed(moving, firstStep), color: '#1f77b4', dashed: true },
    { label: 'test, after each epoch', points: epochs.map((e) => [e.step, 100 * e.testError]), color: '#1f77b4' },
  ];
  return scalable(lineChart('top-1 error', 'step', 'error (%)', series, { width: 560, height: 300 }));
}

/** Rows are true classes, columns predictions; cells shaded by their share of the row. */
export function confusionTable(confusion: number[][], classes: string[]): HTMLTableElement {
  const header = el(
    'tr',
    {},
    el('th', { class: 'corner' }, 'true \\ predicted'),
    ...classes.map((name, j) => el('th', { title: name }, String(j))),
  );
  const rows = confusion.map((row, i) => {
    const total = Math.max(
      1,
      row.reduce((a, b) => a + b, 0),
    );
    const cells = row.map((count, j) => {
      const share = count / total;
      // Mistakes are rarer than hits: their shade is stretched so that they show.
      const shade =
        i === j ? `rgba(49, 130, 189, ${share.toFixed(3)})` : `rgba(230, 85, 13, ${Math.min(1, 4 * share).toFixed(3)})`;
      return el(
        'td',
        {
          style: `background:${shade}`,
          class: share > 0.6 ? 'dark' : '',
          title: `${classes[i]} as ${classes[j]}: ${count}`,
        },
        String(count),
      );
    });
    return el('tr', {}, el('th', {}, `${i} ${classes[i]}`), ...cells);
  });
  return el('table', { class: 'confusion' }, el('thead', {}, header), el('tbody', {}, ...rows));
}

/** [step, value] points for the steps after `firstStep`, averaged into at most MAX_POINTS buckets. */
function bucketed(values: number[], firstStep: number): [number, number][] {
  const size = Math.max(1, Math.ceil(values.length / MAX_POINTS));
  const points: [number, number][] = [];
  for (let start = 0; start < values.length; start += size) {
    const bucket = values.slice(start, start + size);
    points.push([firstStep + start + bucket.length, bucket.reduce((a, b) => a + b, 0) / bucket.length]);
  }
  return points;
}

/** plot.ts's charts have a fixed size; a viewBox lets CSS scale them to the column. */
function scalable(svg: string): string {
  return svg.replace(/<svg ([^>]*?)width="(\d+)" height="(\d+)"/, '<svg $1viewBox="0 0 $2 $3"');
}
