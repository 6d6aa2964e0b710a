// A horizontal grouped bar chart as SVG markup: one group per label, one bar per series,
// with the value at the end of each bar. Standalone like src/train/plot.ts's line charts.

export interface BarGroup {
  label: string;
  bars: { series: string; value: number }[];
}

export interface BarChartOptions {
  unit: string;
  /** Colour per series; the legend lists them in this order. */
  colors: Record<string, string>;
  width?: number;
}

const BAR = 13;
const GAP = 3;
const GROUP_GAP = 14;
const LABEL_WIDTH = 250;
const LEGEND_ROW = 16;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function barChart(groups: BarGroup[], { unit, colors, width = 760 }: BarChartOptions): string {
  const max = Math.max(1e-9, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  const plotWidth = width - LABEL_WIDTH - 70;
  const used = new Set(groups.flatMap((g) => g.bars.map((b) => b.series)));
  const legend = legendItems(
    Object.entries(colors).filter(([series]) => used.has(series)),
    LABEL_WIDTH,
    width,
  );
  const top = LEGEND_ROW * legend.rows + 12;
  const parts: string[] = [];
  let y = top;
  for (const group of groups) {
    const height = group.bars.length * (BAR + GAP) - GAP;
    parts.push(
      `<text x="${LABEL_WIDTH - 10}" y="${y + height / 2 + 4}" text-anchor="end">${escape(group.label)}</text>`,
    );
    group.bars.forEach((bar, i) => {
      const barTop = y + i * (BAR + GAP);
      const length = Math.max(1, (bar.value / max) * plotWidth);
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${barTop}" width="${length.toFixed(1)}" height="${BAR}" fill="${colors[bar.series] ?? '#888'}"><title>${escape(bar.series)}: ${bar.value.toFixed(2)} ${unit}</title></rect>`,
        `<text x="${(LABEL_WIDTH + length + 4).toFixed(1)}" y="${barTop + BAR - 3}" font-size="10" fill="#444">${formatValue(bar.value)}</text>`,
      );
    });
    y += height + GROUP_GAP;
  }
  const height = y - GROUP_GAP + 24;
  const axis = `<line x1="${LABEL_WIDTH}" y1="${top - 4}" x2="${LABEL_WIDTH}" y2="${height - 20}" stroke="#999"/><text x="${LABEL_WIDTH + plotWidth}" y="${height - 4}" text-anchor="end" fill="#666">${escape(unit)}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    ...legend.items,
    axis,
    ...parts,
    '</svg>',
  ].join('\n');
}

/** Legend entries left to right from `left`, wrapping to a new row at `width`. */
function legendItems(entries: [string, string][], left: number, width: number): { items: string[]; rows: number } {
  let x = left;
  let row = 0;
  const items = entries.map(([series, color]) => {
    const itemWidth = 14 + 6.2 * series.length + 18; // swatch, text at about 6.2 px a character, gap
    if (x + itemWidth > width && x > left) [x, row] = [left, row + 1];
    const item = `<g transform="translate(${x.toFixed(0)},${4 + LEGEND_ROW * row})"><rect width="10" height="10" fill="${color}"/><text x="14" y="9">${escape(series)}</text></g>`;
    x += itemWidth;
    return item;
  });
  return { items, rows: row + 1 };
}

const formatValue = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
