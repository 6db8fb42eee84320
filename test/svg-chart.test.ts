// bench/svg-chart.mjs, the benchmarks' SVG writer: well-formed XML, bars proportional to their values, text
// escaped, and input it cannot draw honestly (nothing, NaN, negatives, wrong lengths) refused.
import { describe, expect, it } from "vitest";
import { barChart, chartColumn, type ChartSpec } from "../bench/svg-chart.mjs";

/** A strict check of XML well-formedness for what the writer emits: elements, attributes, text, five entities. */
function parseXml(xml: string): { root: string; elements: { name: string; attrs: Record<string, string> }[] } {
  const entity = /&(?:amp|lt|gt|quot|#39);/g;
  const cleanText = (t: string) => !/[<>&]/.test(t.replace(entity, ""));
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>/y;
  const stack: string[] = [];
  const elements: { name: string; attrs: Record<string, string> }[] = [];
  let root = "";
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (!cleanText(text)) throw new Error(`unescaped text at ${i}: ${text.slice(0, 40)}`);
    if (text.trim() && stack.length === 0) throw new Error("text outside the root");
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) throw new Error(`malformed tag at ${lt}: ${xml.slice(lt, lt + 60)}`);
    const [whole, close, name, attrText, selfClose] = m as unknown as [string, string, string, string, string];
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else {
      const attrs: Record<string, string> = {};
      for (const [, k, v] of attrText.matchAll(/([\w:-]+)="([^"]*)"/g) as IterableIterator<[string, string, string]>) {
        if (k in attrs) throw new Error(`duplicate attribute ${k}`);
        if (!cleanText(v)) throw new Error(`unescaped attribute ${k}="${v}"`);
        attrs[k] = v;
      }
      if (stack.length === 0) {
        if (root) throw new Error("two roots");
        root = name;
      }
      elements.push({ name, attrs });
      if (!selfClose) stack.push(name);
    }
    i = lt + whole.length;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join("><")}>`);
  return { root, elements };
}

const grouped: ChartSpec = {
  title: "SRTP protect",
  unit: "µs per packet",
  groups: ["ours", "node:crypto", "noble"],
  series: [
    { name: "protect", values: [2.5, 7, 17.5], low: [2.4, 6.5, 16], high: [2.9, 7.5, 19] },
    { name: "unprotect", values: [2.6, null, 18] },
  ],
  caption: "2-vCPU AMD EPYC, Node v20, 2026-12-03 10:00 UTC; shared with other jobs.",
};
const bars = (xml: string) => parseXml(xml).elements.filter((e) => e.attrs.class === "bar");

describe("svg-chart", () => {
  it("writes well-formed SVG: one <svg> root with the namespace, a bar per value, whiskers, legend and caption", () => {
    const svg = barChart(grouped);
    const { root, elements } = parseXml(svg);
    expect(root).toBe("svg");
    expect(elements[0]?.attrs.xmlns).toBe("http://www.w3.org/2000/svg");
    expect(bars(svg)).toHaveLength(5); // the null is no bar
    expect(elements.filter((e) => e.attrs.class === "whisker")).toHaveLength(3);
    expect(svg).toContain(">protect</text>");
    expect(svg).toContain("2-vCPU AMD EPYC");
    const stacked = barChart({ ...grouped, stacked: true, series: grouped.series.map(({ name, values }) => ({ name, values })) });
    expect(parseXml(stacked).root).toBe("svg");
    const column = chartColumn([grouped, { ...grouped, title: "second" }]);
    expect(parseXml(column).root).toBe("svg");
    expect(bars(column)).toHaveLength(10);
  });

  it("draws bar heights proportional to the values, grouped and stacked", () => {
    for (const stacked of [false, true]) {
      const svg = barChart({ ...grouped, stacked, series: grouped.series.map(({ name, values }) => ({ name, values })) });
      const ratios = bars(svg).map((b) => Number(b.attrs.height) / Number(b.attrs["data-value"]));
      expect(ratios.length).toBe(5);
      for (const r of ratios) expect(r).toBeCloseTo(ratios[0]!, 2);
      // All on one baseline when grouped; stacked, each segment starts where the one below ends.
      const rects = bars(svg).map((b) => ({ bottom: Number(b.attrs.y) + Number(b.attrs.height), top: Number(b.attrs.y), x: b.attrs.x }));
      const [lowest] = rects as [(typeof rects)[number]];
      if (!stacked) for (const r of rects) expect(r.bottom).toBeCloseTo(lowest.bottom, 1);
      else {
        const [below, above] = rects.filter((r) => r.x === lowest.x) as [typeof lowest, typeof lowest];
        expect(rects.filter((r) => r.x === lowest.x)).toHaveLength(2);
        expect(above.bottom).toBeCloseTo(below.top, 1);
      }
    }
  });

  it("escapes every text it is given", () => {
    const hostile = `<script>alert("x")</script> & 'q'`;
    const svg = barChart({ ...grouped, title: hostile, unit: hostile, groups: [hostile, "b", "c"], series: [{ name: hostile, values: [1, 2, 3] }], caption: hostile });
    expect(svg).not.toContain("<script");
    expect(svg).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
    expect(() => parseXml(svg)).not.toThrow();
  });

  it("refuses input it cannot draw honestly", () => {
    const one = (values: unknown[]) => ({ ...grouped, series: [{ name: "s", values: values as number[] }] });
    const refused: unknown[] = [
      { ...grouped, groups: [] },
      { ...grouped, series: [] },
      one([1, NaN, 2]),
      one([1, undefined, 2]),
      one([1, Infinity, 2]),
      one([1, -1, 2]),
      one([1, 2]),
      one([null, null, null]),
      { ...grouped, series: [{ name: "s", values: [1, 2, 3], low: [1.5, 2, 3], high: [2, 2, 3] }] },
      { ...grouped, stacked: true },
    ];
    for (const spec of refused) expect(() => barChart(spec as ChartSpec)).toThrow(RangeError);
    expect(() => chartColumn([])).toThrow(RangeError);
  });
});
