// A dependency-free SVG bar chart for the benchmarks: grouped or stacked bars on a linear axis from zero, value
// labels, optional spread whiskers (low–high of the trials), a legend and a caption (the machine and the date).
// barChart({ title, unit, groups, series, stacked?, caption?, format? }) returns the SVG text; chartColumn([spec, …])
// draws several such charts one under the other in one SVG.
//   groups: the category labels along the x axis;
//   series: [{ name, values, low?, high? }], one value per group: a finite number ≥ 0, or null for "no bar";
//   stacked: the series stacked within each group (no whiskers) instead of side by side.
// Anything else (no groups, no series, no value at all, NaN, ±Infinity, a negative, a wrong length, a whisker
// that does not bracket its value) throws a RangeError: a chart never draws a figure it was not given.

const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948", "#9c755f", "#bab0ac", "#ff9da7"];
const WIDTH = 760;
const PLOT_HEIGHT = 260;
const LEFT = 64;
const RIGHT = 16;
const TOP = 44;
const CHAR = 6.2; // px per character at 11 px, for layout only
const LINE = 15;

export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

const sig3 = (v) => (v === 0 ? "0" : v >= 1000 ? Math.round(v).toLocaleString("en-US") : String(+v.toPrecision(3)));

function check(groups, series, stacked) {
  if (!Array.isArray(groups) || groups.length === 0) throw new RangeError("barChart: no groups");
  if (!Array.isArray(series) || series.length === 0) throw new RangeError("barChart: no series");
  const valid = (v) => v === null || (typeof v === "number" && Number.isFinite(v) && v >= 0);
  for (const s of series) {
    for (const key of ["values", "low", "high"]) {
      const xs = s[key];
      if (xs === undefined && key !== "values") continue;
      if (!Array.isArray(xs) || xs.length !== groups.length) throw new RangeError(`barChart: series "${s.name}" ${key} needs one entry per group`);
      const bad = xs.findIndex((v) => !valid(v));
      if (bad >= 0) throw new RangeError(`barChart: series "${s.name}" ${key} has ${xs[bad]} (a finite number ≥ 0 or null only)`);
    }
    if (stacked && (s.low || s.high)) throw new RangeError("barChart: whiskers are for grouped bars only");
    s.values.forEach((v, i) => {
      const lo = s.low?.[i] ?? v, hi = s.high?.[i] ?? v;
      if ((lo === null) !== (v === null) || (hi === null) !== (v === null) || (v !== null && (lo > v || hi < v))) {
        throw new RangeError(`barChart: series "${s.name}" whisker at "${groups[i]}" does not bracket its value`);
      }
    });
  }
  if (!series.some((s) => s.values.some((v) => v !== null))) throw new RangeError("barChart: no values");
}

/** The y axis: a 1-2-5 step giving 4-8 ticks, the top a multiple of it. */
function axis(max) {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  return { step, top: Math.ceil(max / step) * step };
}

function wrap(text, chars) {
  const lines = [];
  for (const para of String(text).split("\n")) {
    let line = "";
    for (const word of para.split(" ")) {
      if (line && (line + " " + word).length > chars) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}

/** One chart's elements, drawn from y = 0, and its height. */
function draw({ title, unit, groups, series, stacked = false, caption = "", format = sig3 }) {
  check(groups, series, stacked);
  const tops = groups.map((_, g) => stacked
    ? series.reduce((sum, s) => sum + (s.values[g] ?? 0), 0)
    : Math.max(...series.map((s) => s.high?.[g] ?? s.values[g] ?? 0)));
  const { step, top } = axis(Math.max(...tops) || 1);
  // The x labels slant down to the left: room for the first one.
  const left = Math.max(LEFT, String(groups[0]).length * CHAR * 0.87 - (WIDTH - LEFT - RIGHT) / groups.length / 2 + 8);
  const plotW = WIDTH - left - RIGHT;
  const groupW = plotW / groups.length;
  // Grouped, each group shows only its values side by side (a null takes no room); stacked, one bar.
  const present = groups.map((_, g) => series.filter((s) => s.values[g] !== null));
  const slots = stacked ? 1 : Math.max(...present.map((p) => p.length));
  const barW = Math.min(48, (groupW * 0.8) / slots);
  const y = (v) => TOP + PLOT_HEIGHT - (v / top) * PLOT_HEIGHT;
  const h = (v) => (v / top) * PLOT_HEIGHT;
  const longest = Math.max(...groups.map((g) => String(g).length));
  const labelDepth = Math.min(longest * CHAR * 0.5 + 18, 120); // labels at −30°
  const legendTop = TOP + PLOT_HEIGHT + labelDepth + 12;
  const legendRows = [];
  let x = LEFT;
  series.forEach((s, i) => {
    const w = 18 + s.name.length * CHAR + 16;
    if (x + w > WIDTH - RIGHT && x > LEFT) {
      x = LEFT;
      legendRows.push([]);
    }
    if (legendRows.length === 0) legendRows.push([]);
    legendRows.at(-1).push({ s, i, x });
    x += w;
  });
  const captionLines = caption ? wrap(caption, Math.floor((WIDTH - 2 * 12) / CHAR)) : [];
  const captionTop = legendTop + legendRows.length * LINE + 10;
  const height = Math.ceil(captionTop + captionLines.length * LINE + 8);

  const out = [];
  out.push(`<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<text x="14" y="${TOP + PLOT_HEIGHT / 2}" text-anchor="middle" transform="rotate(-90 14 ${TOP + PLOT_HEIGHT / 2})">${escapeXml(unit)}</text>`);
  for (let v = 0; v <= top + step / 2; v += step) {
    const ty = y(v).toFixed(1);
    out.push(`<line x1="${left}" y1="${ty}" x2="${WIDTH - RIGHT}" y2="${ty}" stroke="${v === 0 ? "#333333" : "#dddddd"}"/>`);
    out.push(`<text x="${left - 6}" y="${ty}" dy="4" text-anchor="end">${escapeXml(format(v))}</text>`);
  }
  out.push(`<line x1="${left}" y1="${TOP}" x2="${left}" y2="${TOP + PLOT_HEIGHT}" stroke="#333333"/>`);
  groups.forEach((g, gi) => {
    const cx = left + groupW * (gi + 0.5);
    const x0 = cx - ((stacked ? 1 : present[gi].length) * barW) / 2;
    let base = 0;
    series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null) return;
      const bx = stacked ? x0 : x0 + present[gi].indexOf(s) * barW;
      const by = y(base + v);
      const tip = `${s.name}, ${g}: ${format(v)} ${unit}` + (s.low ? ` (trials ${format(s.low[gi])}–${format(s.high[gi])})` : "");
      out.push(`<rect class="bar" data-value="${v}" x="${bx.toFixed(2)}" y="${by.toFixed(2)}" width="${(barW - 2).toFixed(2)}" height="${h(v).toFixed(3)}" fill="${COLORS[si % COLORS.length]}"><title>${escapeXml(tip)}</title></rect>`);
      const mid = (bx + (barW - 2) / 2).toFixed(2);
      if (s.low) {
        out.push(`<line class="whisker" x1="${mid}" y1="${y(s.low[gi]).toFixed(2)}" x2="${mid}" y2="${y(s.high[gi]).toFixed(2)}" stroke="#222222"/>`);
      }
      if (stacked) {
        if (h(v) >= 13) out.push(`<text x="${mid}" y="${(by + h(v) / 2 + 4).toFixed(2)}" text-anchor="middle" fill="#ffffff">${escapeXml(format(v))}</text>`);
        base += v;
      } else {
        const labelY = Math.min(by, y(s.high?.[gi] ?? v)) - 3;
        out.push(`<text x="${mid}" y="${labelY.toFixed(2)}" text-anchor="middle" font-size="${barW < 30 ? 9 : 11}">${escapeXml(format(v))}</text>`);
      }
    });
    if (stacked && base > 0) out.push(`<text x="${cx.toFixed(2)}" y="${(y(base) - 3).toFixed(2)}" text-anchor="middle" font-weight="bold">${escapeXml(format(base))}</text>`);
    const ly = TOP + PLOT_HEIGHT + 14;
    out.push(`<text x="${cx.toFixed(2)}" y="${ly}" text-anchor="end" transform="rotate(-30 ${cx.toFixed(2)} ${ly})">${escapeXml(g)}</text>`);
  });
  legendRows.forEach((row, r) => {
    const ly = legendTop + r * LINE;
    for (const { s, i, x: lx } of row) {
      out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
      out.push(`<text x="${lx + 18}" y="${ly + 1}">${escapeXml(s.name)}</text>`);
    }
  });
  captionLines.forEach((line, i) => {
    out.push(`<text x="12" y="${captionTop + i * LINE}" fill="#555555">${escapeXml(line)}</text>`);
  });
  return { height, body: out.join("\n") };
}

export function chartColumn(specs) {
  if (!Array.isArray(specs) || specs.length === 0) throw new RangeError("chartColumn: no charts");
  let height = 0;
  const parts = specs.map((spec) => {
    const { height: h, body } = draw(spec);
    const part = `<g transform="translate(0 ${height})">\n${body}\n</g>`;
    height += h;
    return part;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">\n` +
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>\n${parts.join("\n")}\n</svg>\n`;
}

export const barChart = (spec) => chartColumn([spec]);
