// The line-rate chart (docs/charts/linerate.svg) from bench/linerate.mjs's summary: the zero-loss rate of each
// mode per N, then the CPU split per packet as stacked bars (sender and receiver, native and node:dgram I/O).
import { caption } from "./harness.mjs";
import { chartColumn } from "./svg-chart.mjs";

const MODE_NAMES = {
  dgram: "bare node:dgram sockets",
  plain: "plain pipeline, native I/O",
  srtp: "SRTP, native I/O",
  "plain:dgram": "plain pipeline, node:dgram I/O",
  "srtp:dgram": "SRTP, node:dgram I/O",
};
const kilo = (v) => (v >= 1000 ? `${+(v / 1000).toPrecision(3)}k` : String(+v.toPrecision(3)));

export function linerateChart(summary) {
  const { results, trialsPerStep, seconds, resolution, rtpBytes } = summary;
  const ran = { m: summary.machine, date: new Date(summary.date) };
  const modes = Object.keys(MODE_NAMES).filter((m) => results.some((r) => r.zeroLoss[m]));
  const rates = {
    title: "Highest zero-loss multicast rate per mode",
    unit: "packets per second",
    format: kilo,
    groups: results.map((r) => `N = ${r.receivers} receiver${r.receivers > 1 ? "s" : ""}`),
    series: modes.map((m) => ({ name: MODE_NAMES[m], values: results.map((r) => r.zeroLoss[m]?.pps ?? null) })),
    caption: `${rtpBytes}-byte RTP packets, ${summary.cryptoWorkers ? `the SRTP sender's crypto in ${summary.cryptoWorkers} worker thread(s) (receivers in-thread), ` : ""}one sender and N receivers ${summary.netns ? "multicast in a network namespace" : "unicast on 127.0.0.1"}, TEK_RAND2 every 1 s and a new TGK every 4 s; ` +
      `a rate passes when most of ${trialsPerStep} trials of ${seconds} s lose no packet at any receiver; bisection to ${Math.round((resolution - 1) * 100)} %.`,
  };

  // Stacked segments: each a difference of two modes measured at the same rate; a negative one (noise, or native
  // I/O cheaper than bare node:dgram) cannot be stacked, so it is drawn as 0 and named in the caption.
  const clamped = [];
  const seg = (label, v) => {
    if (typeof v !== "number") return null;
    if (v < 0) clamped.push(`${label} ${v}`);
    return Math.max(0, v);
  };
  const groups = [];
  const columns = [];
  for (const r of results) {
    for (const side of ["sender", "receiver"]) {
      const c = r.cpuUsPerPacket[side];
      for (const io of ["native", "dgram"]) {
        const label = `N=${r.receivers} ${side}, ${io === "native" ? "native" : "node:dgram"} I/O`;
        const col = io === "native"
          ? [null, null, seg(label, c.plain), seg(`${label} crypto`, c.crypto)]
          : [seg(label, c.socketIo), seg(`${label} pipeline`, c.pipelineDgramIo), null, seg(`${label} crypto`, c.cryptoDgramIo)];
        if (col.some((v) => v !== null)) {
          groups.push(label);
          columns.push(col);
        }
      }
    }
  }
  const names = ["socket I/O (bare node:dgram)", "pipeline (plain:dgram − bare dgram)", "plain pipeline incl. native I/O", "SRTP + key switching (srtp − plain)"];
  const used = names.map((_, i) => columns.some((col) => col[i] !== null));
  const cpu = {
    title: "CPU per packet at the SRTP zero-loss rate (user + system, all threads)",
    unit: "µs per packet",
    stacked: true,
    groups,
    series: names.map((name, i) => ({ name, values: columns.map((col) => col[i]) })).filter((_, i) => used[i]),
    caption: caption(`At ${results.map((r) => `${r.cpuUsPerPacket.atPps} pkt/s for N = ${r.receivers}`).join(", ")}; medians over the full-length ` +
      `trials at that rate (≥ ${trialsPerStep} per mode), receivers pooled.` +
      `${seconds < 10 ? ` ${seconds}-s trials: each process's start-up (WASM compile, keying) is spread over few packets, inflating these figures.` : ""}` +
      ` ${clamped.length ? `Drawn as 0 (negative difference): ${clamped.join("; ")}.` : ""}`, ran),
  };
  return chartColumn(groups.length ? [rates, cpu] : [{ ...rates, caption: caption(rates.caption, ran) }]);
}
