// Line charts as standalone SVG files that open in a browser.

export interface Series {
  label: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  { width = 640, height = 400 } = {},
): string {
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const [x0, x1] = all.length ? [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))] : [0, 1];
  const [y0, y1] = all.length ? [Math.min(0, ...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))] : [0, 1];
  const m = { left: 60, right: 20, top: 40, bottom: 50 };
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * (width - m.left - m.right);
  const sy = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - m.top - m.bottom);
  const ticks = (a: number, b: number) => Array.from({ length: 5 }, (_, i) => a + ((b - a) * i) / 4);
  const lines = series.map((s) => {
    const d = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join(' ');
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`;
  });
  const legend = series.map(
    (s, i) =>
      `<g transform="translate(${m.left + 10},${m.top + 8 + 18 * i})"><line x1="0" y1="0" x2="24" y2="0" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="30" y="4">${escape(s.label)}</text></g>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
    ...ticks(y0, y1).map(
      (y) =>
        `<line x1="${m.left}" x2="${width - m.right}" y1="${sy(y)}" y2="${sy(y)}" stroke="#ddd"/><text x="${m.left - 6}" y="${sy(y) + 4}" text-anchor="end">${+y.toPrecision(3)}</text>`,
    ),
    ...ticks(x0, x1).map(
      (x) => `<text x="${sx(x)}" y="${height - m.bottom + 16}" text-anchor="middle">${+x.toPrecision(3)}</text>`,
    ),
    `<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="black"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="black"/>`,
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text transform="translate(16,${height / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
    ...lines,
    ...legend,
    '</svg>',
  ].join('\n');
}
