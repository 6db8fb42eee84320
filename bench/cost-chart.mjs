// The per-operation cost chart of bench:srtp and bench:kernels: µs per operation, one bar per (group, series)
// cell at the median of the trials, a whisker from the fastest to the slowest trial.
import { caption } from "./harness.mjs";
import { barChart } from "./svg-chart.mjs";

/** cells: [{ group, series, nsPerOp, trialsNs }] (bench/harness.mjs runSuite figures); groups, series: the order. */
export function costChart({ title, note, groups, series, cells }) {
  const at = (g, s) => cells.find((c) => c.group === g && c.series === s);
  const us = (pick) => (g, s) => {
    const c = at(g, s);
    return c ? pick(c) / 1000 : null;
  };
  const shown = groups.filter((g) => series.some((s) => at(g, s)));
  return barChart({
    title,
    unit: "µs per operation (median of trials)",
    groups: shown,
    series: series.map((s) => ({
      name: s,
      values: shown.map((g) => us((c) => c.nsPerOp)(g, s)),
      low: shown.map((g) => us((c) => Math.min(...c.trialsNs))(g, s)),
      high: shown.map((g) => us((c) => Math.max(...c.trialsNs))(g, s)),
    })),
    caption: caption(`${note} Whiskers: fastest to slowest trial.`),
  });
}
