/** One line of a plot: points with an optional ± error bar. */
export interface PlotSeries {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number; readonly sd?: number }[];
}

export interface LinePlot {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly PlotSeries[];
  /** Fixed y range; default from the data (with 0 included). */
  readonly yRange?: readonly [number, number];
}

const PLOT_WIDTH = 420;
const HEIGHT = 420;
const MARGIN = { left: 70, top: 40, bottom: 55 };
/** Colour-blind-safe (Okabe–Ito). */
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9'];
/** Past the six colours, lines repeat them dashed, then dotted. */
const DASHES = ['', '7 4', '2 3'];

/** The look of series `n`: its colour and dash pattern ('' = solid). */
export function seriesStyle(n: number): { readonly colour: string; readonly dash: string } {
  return { colour: COLOURS[n % COLOURS.length]!, dash: DASHES[Math.floor(n / COLOURS.length) % DASHES.length]! };
}

/** Legend width: wide enough for the longest name (DejaVu Sans at 12 px: ~7 px a character). */
const legendWidth = (names: readonly string[]): number => Math.max(150, 50 + 7 * Math.max(0, ...names.map((n) => n.length)));

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** Round tick steps (1, 2, 5 × 10^n) giving about `count` ticks over [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step; t += step) out.push(Math.round(t / step) * step + 0); // + 0: no −0
  return out;
}

/**
 * A line plot as SVG text: one polyline per series with markers and ± sd bars, x at the points'
 * values (categorical-looking when they are annotation budgets), a legend on the right as wide
 * as its longest name; past six series the colours repeat dashed, then dotted.
 */
export function linePlotSvg(plot: LinePlot): string {
  const finite = plot.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.y)));
  const xs = [...new Set(finite.map((p) => p.x))].sort((a, b) => a - b);
  const [x0, x1] = xs.length ? [xs[0]!, xs[xs.length - 1]!] : [0, 1];
  const ys = finite.flatMap((p) => [p.y - (p.sd ?? 0), p.y + (p.sd ?? 0)]);
  const [y0, y1] = plot.yRange ?? [Math.min(0, ...ys), Math.max(...ys, 1e-9) * 1.05];
  const right = legendWidth(plot.series.map((s) => s.name));
  const WIDTH = MARGIN.left + PLOT_WIDTH + right;
  const w = PLOT_WIDTH;
  const h = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number): number => MARGIN.left + (x1 === x0 ? w / 2 : ((x - x0) / (x1 - x0)) * w);
  const sy = (y: number): number => MARGIN.top + h - ((Math.min(Math.max(y, y0), y1) - y0) / (y1 - y0)) * h;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN.left + w / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(plot.title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + h}" x2="${MARGIN.left + w}" y2="${MARGIN.top + h}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + h}" stroke="black"/>`,
  ];
  for (const x of xs) {
    parts.push(`<line x1="${sx(x)}" y1="${MARGIN.top + h}" x2="${sx(x)}" y2="${MARGIN.top + h + 5}" stroke="black"/>`);
    parts.push(`<text x="${sx(x)}" y="${MARGIN.top + h + 19}" text-anchor="middle">${fmt(x)}</text>`);
  }
  for (const y of ticks(y0, y1)) {
    parts.push(`<line x1="${MARGIN.left}" y1="${sy(y)}" x2="${MARGIN.left + w}" y2="${sy(y)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${sy(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + w / 2}" y="${HEIGHT - 12}" text-anchor="middle">${esc(plot.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${MARGIN.top + h / 2}) rotate(-90)" text-anchor="middle">${esc(plot.yLabel)}</text>`);
  plot.series.forEach((s, n) => {
    const { colour, dash } = seriesStyle(n);
    const dashed = dash ? ` stroke-dasharray="${dash}"` : '';
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${dashed} points="${pts.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')}"/>`);
    for (const p of pts) {
      if (p.sd) parts.push(`<line x1="${sx(p.x)}" y1="${sy(p.y - p.sd)}" x2="${sx(p.x)}" y2="${sy(p.y + p.sd)}" stroke="${colour}" stroke-width="1.5"/>`);
      parts.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="3.5" fill="${colour}"/>`);
    }
    const ly = MARGIN.top + 10 + n * 20;
    parts.push(`<line x1="${WIDTH - right + 15}" y1="${ly}" x2="${WIDTH - right + 40}" y2="${ly}" stroke="${colour}" stroke-width="3"${dashed}/>`);
    parts.push(`<text x="${WIDTH - right + 45}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Renders SVG text to PNG bytes (resvg, system fonts; its native module is loaded on first use). */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  return new Uint8Array(png);
}
