// A load-generator thread of bench/rekey-instances.mjs: simulated UEs (its share of them), each sending
// signed key requests to the key-server instances, round robin by UE number (UE i → ports[i % N]), over
// one keep-alive Agent per instance. A delivery counts only when the MIKEY message opens with the UE's KEK
// and holds the TGK that follows the expiring one (valid from its expiry).
//   main → worker: {type:"initial", offset}                  initial keying of every UE (not measured)
//                  {type:"go", offset, expiring, jitterMs}   the measured re-key, mitigated schedule
//   worker → main: {type:"initial", failed, why, tgk}        tgk: the current TGK's ID and expiry
//                  {type:"done", delivery (ms, Float64Array), failed, failures, retries, nextTgkIds}
import http from "node:http";
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { keyRequester } from "./key-request.mjs";

const { dist, ports, ues, first, maxSockets } = workerData;
const lib = { ...(await import(new URL("index.js", dist).href)), ...(await import(new URL("mbms/http-protocol.js", dist).href)) };
const users = ues.map((u, i) => ({ userId: u.userId, kek: Uint8Array.from(Buffer.from(u.kekHex, "hex")), port: ports[(first + i) % ports.length] }));
const agents = new Map(ports.map((p) => [p, new http.Agent({ keepAlive: true, maxSockets })]));
let offset = 0;
const { fetchKeys, counters } = keyRequester(lib, () => Date.now() + offset, (u) => ({ port: u.port, agent: agents.get(u.port) }));

let initial = [];

parentPort.on("message", async (m) => {
  offset = m.offset;
  if (m.type === "initial") {
    initial = await Promise.all(users.map(fetchKeys));
    const bad = initial.filter((r) => !r.ok);
    const t = initial.find((r) => r.ok)?.tgks[0];
    for (const r of initial) for (const k of r.tgks ?? []) k.tgk.fill(0); // only the windows are kept
    parentPort.postMessage({ type: "initial", failed: bad.length, why: bad[0]?.why, tgk: t && { tgkId: t.tgkId, expiresAt: t.expiresAt } });
    return;
  }
  // go: each UE at a random time inside the window the server assigned it, plus its own jitter.
  const { expiring, jitterMs } = m;
  counters.retries = 0;
  const nextTgkIds = new Set();
  const results = await Promise.all(users.map((u, i) => new Promise((resolve) => {
    const atSim = initial[i].from + Math.random() * initial[i].window + Math.random() * jitterMs;
    const delay = Math.max(0, atSim - (Date.now() + offset));
    const planned = performance.now() + delay; // delivery time includes any event-loop lag before the UE could send
    setTimeout(async () => {
      const r = await fetchKeys(u);
      const done = performance.now();
      const next = r.ok ? r.tgks.find((t) => t.tgkId !== expiring.tgkId && t.validFrom === expiring.expiresAt) : undefined;
      if (next) nextTgkIds.add(next.tgkId);
      for (const t of r.tgks ?? []) t.tgk.fill(0);
      resolve({ ok: next !== undefined, why: r.ok ? "next TGK missing" : r.why, ms: done - planned });
    }, delay);
  })));
  const delivery = Float64Array.from(results.filter((r) => r.ok).map((r) => r.ms));
  const failed = results.filter((r) => !r.ok);
  parentPort.postMessage({ type: "done", delivery, failed: failed.length, failures: [...new Set(failed.map((f) => f.why))].slice(0, 5), retries: counters.retries, nextTgkIds: [...nextTgkIds] }, [delivery.buffer]);
  for (const a of agents.values()) a.destroy();
});
