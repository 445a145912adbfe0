/**
 * Grouped bar charts as plain SVG text, for results that a README shows next to their table: one panel per metric,
 * groups along x (e.g. load levels), one bar per series (e.g. balancer) in each group. No dependency: a bench result
 * must render wherever SVG does (GitHub, a browser).
 */

export interface BarSeries {
  readonly label: string;
  /** One value per group; null or NaN = not measured (no bar, "n/a"); Infinity = never finished (a full-height bar marked ∞). */
  readonly values: readonly (number | null)[];
}

export interface BarPanel {
  readonly title: string;
  readonly unit: string;
  readonly groups: readonly string[];
  readonly series: readonly BarSeries[];
  /** Values above this are drawn at the cap with their number on top (one runaway bar must not flatten the rest). */
  readonly cap?: number;
}

const COLOURS = ['#1b7837', '#5aae61', '#a6dba0', '#9970ab', '#e08214', '#2166ac', '#b2182b'];
const WIDTH = 860;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 50 };

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** A round axis maximum at or above `max`: 1, 2 or 5 times a power of ten. */
export function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

function formatValue(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '∞';
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10_000 ? 0 : 1)}k`;
  if (value >= 10) return value.toFixed(0);
  return value.toFixed(1);
}

function panel(p: BarPanel, offsetY: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const finite = p.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const top = niceMax(Math.min(p.cap ?? Number.POSITIVE_INFINITY, Math.max(0, ...finite)));
  const y = (v: number): number => offsetY + MARGIN.top + plotH - (Math.min(v, top) / top) * plotH;
  const out: string[] = [];
  out.push(`<text x="${MARGIN.left}" y="${offsetY + 22}" font-size="15" font-weight="bold">${escapeXml(p.title)}</text>`);
  for (let i = 0; i <= 4; i += 1) {
    const v = (top * i) / 4;
    out.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${formatValue(v)}</text>`);
  }
  out.push(`<text x="16" y="${offsetY + MARGIN.top + plotH / 2}" font-size="12" transform="rotate(-90 16 ${offsetY + MARGIN.top + plotH / 2})" text-anchor="middle">${escapeXml(p.unit)}</text>`);
  const groupW = plotW / Math.max(1, p.groups.length);
  const barW = (groupW * 0.8) / Math.max(1, p.series.length);
  p.groups.forEach((group, g) => {
    const gx = MARGIN.left + g * groupW + groupW * 0.1;
    out.push(`<text x="${gx + (groupW * 0.8) / 2}" y="${offsetY + PANEL_HEIGHT - MARGIN.bottom + 18}" font-size="12" text-anchor="middle">${escapeXml(group)}</text>`);
    p.series.forEach((s, i) => {
      const value = s.values[g] ?? null;
      const x = gx + i * barW;
      if (value === null || Number.isNaN(value)) {
        out.push(`<text x="${x + barW / 2}" y="${y(0) - 4}" font-size="9" text-anchor="middle" fill="#888">n/a</text>`);
        return;
      }
      const colour = COLOURS[i % COLOURS.length] as string;
      const capped = value > top;
      out.push(`<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(y(0) - y(value)).toFixed(1)}" fill="${colour}"${capped ? ' stroke="#000" stroke-dasharray="3,2"' : ''}><title>${escapeXml(`${s.label} @ ${group}: ${Number.isFinite(value) ? Number(value.toFixed(1)) : 'never finished'} ${p.unit}`)}</title></rect>`);
      out.push(`<text x="${x + barW / 2}" y="${y(value) - 3}" font-size="9" text-anchor="middle">${capped ? '↑' : ''}${formatValue(value)}</text>`);
    });
  });
  return out.join('\n');
}

/** Panels stacked vertically with one shared legend at the bottom (series labels from the first panel). */
export function barChartSvg(panels: readonly BarPanel[], caption: string): string {
  const legendItems = panels[0]?.series.map((s) => s.label) ?? [];
  const legendRows = Math.ceil(legendItems.length / 3);
  const height = panels.length * PANEL_HEIGHT + legendRows * 20 + 40;
  const legend = legendItems.map((label, i) => {
    const x = MARGIN.left + (i % 3) * 260;
    const yy = panels.length * PANEL_HEIGHT + 10 + Math.floor(i / 3) * 20;
    return `<rect x="${x}" y="${yy}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/><text x="${x + 18}" y="${yy + 11}" font-size="12">${escapeXml(label)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...panels.map((p, i) => panel(p, i * PANEL_HEIGHT)),
    ...legend,
    `<text x="${MARGIN.left}" y="${height - 8}" font-size="11" fill="#555">${escapeXml(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
