// One simulated UE's signed key request (POST /mbms/v1/keys over a keep-alive Agent) and its answer
// opened with the UE's KEK — shared by the in-process re-key load (rekey-load.mjs) and the load-generator
// threads of the multi-instance one (rekey-load-worker.mjs). A transport error (an idle keep-alive
// socket closed under us) is retried once and counted in `counters.retries`.
import http from "node:http";

/**
 * lib: the package's exports and mbms/http-protocol's; now(): the BM-SC's clock (ms);
 * target(u): { port, agent } of the key server UE u asks.
 */
export function keyRequester(lib, now, target) {
  const body = JSON.stringify({ serviceId: "tv", have: [] });
  const counters = { retries: 0 };
  const once = (u) => new Promise((resolve) => {
    const { port, agent } = target(u);
    const headers = { ...lib.signRequest({ kek: u.kek, userId: u.userId, method: "POST", path: lib.KEYS_PATH, body, timeMs: now() }), "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: lib.KEYS_PATH, headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", (e) => resolve({ error: e }));
    });
    req.on("error", (e) => resolve({ error: e }));
    req.end(body);
  });
  /** { ok, tgks, from, window } (the retrieval window the server named), or { ok: false, why }. */
  const fetchKeys = async (u) => {
    let r = await once(u);
    if (r.error) {
      counters.retries++;
      r = await once(u);
    }
    if (r.error || r.status !== 200) return { ok: false, why: r.error ? String(r.error.code ?? r.error) : `status ${r.status}` };
    try {
      const d = lib.openMbmsKeyMessage(new Uint8Array(r.body), { kek: u.kek, nowMs: now() });
      return { ok: true, tgks: d.tgks, from: Number(r.headers[lib.HEADER_REKEY_FROM]), window: Number(r.headers[lib.HEADER_REKEY_WINDOW]) };
    } catch (e) {
      return { ok: false, why: `open: ${e.code ?? e}` };
    }
  };
  return { fetchKeys, counters };
}
