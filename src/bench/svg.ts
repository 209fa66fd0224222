/** Small inline-SVG charts (no scripts, no fonts fetched): bars with a p99 whisker, and lines. */
export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const W = 640;
const PAD = { l: 64, r: 16, t: 28, b: 44 };
const COLORS = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00"];
const fmt = (v: number) => (v >= 1e6 ? `${(v / 1e6).toPrecision(3)}M` : v >= 1e3 ? `${(v / 1e3).toPrecision(3)}k` : v >= 1 ? v.toPrecision(3) : v.toPrecision(2));

export interface Bar {
  label: string;
  value: number;
  /** Whisker to this value (a p99, a max). */
  high?: number;
}

export function barChart(o: { id: string; title: string; unit: string; bars: Bar[] }): string {
  if (!o.bars.length) return "";
  const H = PAD.t + PAD.b + o.bars.length * 22;
  const max = Math.max(...o.bars.map((b) => Math.max(b.value, b.high ?? 0)), 1e-12);
  const x = (v: number) => PAD.l + 150 + ((W - PAD.l - 150 - PAD.r - 60) * v) / max;
  const rows = o.bars.map((b, i) => {
    const y = PAD.t + i * 22;
    const whisker = b.high !== undefined && b.high > b.value ? `<line x1="${x(b.value)}" x2="${x(b.high)}" y1="${y + 8}" y2="${y + 8}" stroke="#333"/><line x1="${x(b.high)}" x2="${x(b.high)}" y1="${y + 3}" y2="${y + 13}" stroke="#333"/>` : "";
    return `<text x="${PAD.l + 144}" y="${y + 12}" text-anchor="end" font-size="11">${esc(b.label)}</text><rect x="${x(0)}" y="${y + 2}" width="${Math.max(1, x(b.value) - x(0))}" height="14" fill="${COLORS[i % COLORS.length]}"><title>${esc(`${b.label}: ${b.value} ${o.unit}`)}</title></rect>${whisker}<text x="${x(Math.max(b.value, b.high ?? 0)) + 4}" y="${y + 12}" font-size="10">${fmt(b.value)}</text>`;
  });
  return svg(o.id, o.title, H, `${rows.join("")}<text x="${W / 2}" y="${H - 12}" text-anchor="middle" font-size="11">${esc(o.unit)}${o.bars.some((b) => b.high !== undefined) ? " (bar: p50, whisker: p99)" : ""}</text>`);
}

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export function lineChart(o: { id: string; title: string; xLabel: string; unit: string; series: Series[]; logX?: boolean; logY?: boolean }): string {
  const H = 300;
  const pts = o.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && (!o.logY || p.y > 0) && (!o.logX || p.x > 0));
  if (!pts.length) return "";
  const tx = (v: number) => (o.logX ? Math.log10(v) : v);
  const ty = (v: number) => (o.logY ? Math.log10(v) : v);
  let [x0, x1] = [Math.min(...pts.map((p) => tx(p.x))), Math.max(...pts.map((p) => tx(p.x)))];
  let [y0, y1] = [o.logY ? Math.min(...pts.map((p) => ty(p.y))) : 0, Math.max(...pts.map((p) => ty(p.y)))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (v: number) => PAD.l + ((W - PAD.l - PAD.r - 120) * (tx(v) - x0)) / (x1 - x0);
  const sy = (v: number) => H - PAD.b - ((H - PAD.t - PAD.b) * (ty(v) - y0)) / (y1 - y0);
  // Log axes tick at powers of ten, or at both ends when the data spans less than a decade.
  const ticks = (lo: number, hi: number, log?: boolean) => {
    if (!log) return [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
    const decades = Array.from({ length: Math.max(0, Math.floor(hi) - Math.ceil(lo) + 1) }, (_, i) => 10 ** (Math.ceil(lo) + i));
    return decades.length >= 2 ? decades : [10 ** lo, 10 ** hi];
  };
  const axes = [
    `<line x1="${PAD.l}" x2="${W - PAD.r - 120}" y1="${H - PAD.b}" y2="${H - PAD.b}" stroke="#999"/><line x1="${PAD.l}" x2="${PAD.l}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#999"/>`,
    ...ticks(y0, y1, o.logY).map((v) => `<text x="${PAD.l - 4}" y="${sy(v) + 3}" text-anchor="end" font-size="10">${fmt(v)}</text><line x1="${PAD.l}" x2="${W - PAD.r - 120}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`),
    ...[...new Set(pts.map((p) => p.x))].map((v) => `<text x="${sx(v)}" y="${H - PAD.b + 14}" text-anchor="middle" font-size="10">${fmt(v)}</text>`),
    `<text x="${(W - 120) / 2}" y="${H - 8}" text-anchor="middle" font-size="11">${esc(o.xLabel)}</text>`,
    `<text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle" font-size="11">${esc(o.unit)}</text>`,
  ];
  const lines = o.series.map((s, i) => {
    const c = COLORS[i % COLORS.length];
    const ps = s.points.filter((p) => pts.includes(p)).sort((a, b) => a.x - b.x);
    const d = ps.map((p, j) => `${j ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join("");
    const dots = ps.map((p) => `<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="3" fill="${c}"><title>${esc(`${s.name}: ${p.x} -> ${p.y}`)}</title></circle>`).join("");
    return `<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>${dots}<rect x="${W - 128}" y="${PAD.t + i * 16}" width="10" height="10" fill="${c}"/><text x="${W - 114}" y="${PAD.t + 9 + i * 16}" font-size="10">${esc(s.name)}</text>`;
  });
  return svg(o.id, o.title, H, axes.join("") + lines.join(""));
}

function svg(id: string, title: string, h: number, body: string): string {
  return `<figure class="chart" data-chart="${esc(id)}"><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" role="img" aria-label="${esc(title)}" font-family="sans-serif">${body}</svg></figure>`;
}
