// The benchmark page: drives the Worker's trials (every case once per trial, the order rotating from
// trial to trial), then the WASM single-packet case alternately in the Worker and on the main thread
// (never both at once). Trial 0 of each phase is a warm-up, checked like the others and reported apart.
// Sets window.__bench to the raw times (or { error }).
import { prepare } from "./suite.mjs";

const query = new URLSearchParams(location.search);
const config = { packets: +query.get("packets"), payload: +query.get("payload"), batch: +query.get("batch") };
const trials = +query.get("trials");

const worker = new Worker("/worker.js", { type: "module" });
const ask = (message) => new Promise((resolve, reject) => {
  worker.onmessage = ({ data }) => (data.error ? reject(new Error(`worker: ${data.error}`)) : resolve(data));
  worker.postMessage(message);
});

const rotate = (names, t) => [...names.slice(t % names.length), ...names.slice(0, t % names.length)];

async function main() {
  const inWorker = await ask({ type: "prepare", config });
  const onPage = await prepare(config);
  const forgeryRejected = { ...inWorker.forgeryRejected, "wasm (main thread)": await onPage.cases.wasm.rejectsForgery() };
  const runs = [];
  for (let t = 0; t <= trials; t++) runs.push((await ask({ type: "trial", order: rotate(inWorker.names, t) })).times);
  // Main thread vs Worker: the same case, alternating, in a phase of its own (no other case in between).
  const threads = [];
  for (let t = 0; t <= trials; t++) {
    const { times } = await ask({ type: "trial", order: ["wasm"] });
    threads.push({ worker: times.wasm, main: await onPage.cases.wasm.run() });
  }
  worker.terminate();
  return {
    config, flavor: inWorker.flavor, mainFlavor: onPage.flavor, userAgent: navigator.userAgent, crossOriginIsolated,
    forgeryRejected, warmUp: runs[0], trials: runs.slice(1), threadsWarmUp: threads[0], threads: threads.slice(1),
  };
}

main().then((r) => (window.__bench = r), (e) => (window.__bench = { error: String(e?.stack ?? e) }));
