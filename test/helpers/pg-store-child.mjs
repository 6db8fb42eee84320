// One BM-SC instance's side of a race on a shared PostgreSQL key store, for test/bmsc-store-postgres.test.ts:
// opens a PostgresKeyStore of its own (its own process, its own pool), prints "ready", waits for the go file
// the parent creates once every instance is ready, runs its calls with `inFlight` of them at a time, and
// prints one JSON line: the results in call order and when the first call started and the last ended.
// Runs the compiled package (dist/, npx tsc -p tsconfig.json). Prints no key material: TEK_RAND2 values are
// test data and go to the parent as hex.
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const { openPostgresKeyStore } = await import(new URL("../../dist/mbms/bmsc/store/index.js", import.meta.url).href);
const job = JSON.parse(process.argv[2]);
const store = await openPostgresKeyStore(job.url, { schema: job.schema });
const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));

/** The job's calls, each a function returning a JSON-able result. */
const calls = {
  allocate: () => Array.from({ length: job.n }, () => () => store.allocateTgkId(job.serviceId)),
  rotate: () => job.periods.map((startsAt, i) => async () => {
    const r = await store.rotateTekRand2(job.serviceId, unhex(job.values[i]), startsAt);
    return { applied: r.applied, current: hex(r.state.current), currentStart: r.state.currentStart };
  }),
  nonce: () => job.nonces.map((n) => async () => (await store.rememberNonce(job.userId, unhex(n), job.expiresAt, job.now, job.maxPerUser)).recorded),
}[job.op]();

console.log("ready");
while (!existsSync(job.goFile)) await sleep(2);
const results = new Array(calls.length);
let next = 0;
const t0 = Date.now();
await Promise.all(Array.from({ length: job.inFlight }, async () => {
  while (next < calls.length) {
    const i = next++;
    results[i] = await calls[i]();
  }
}));
const t1 = Date.now();
await store.close();
console.log(JSON.stringify({ results, t0, t1 }));
