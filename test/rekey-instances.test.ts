// A smoke run of the multi-instance re-key bench (bench/rekey-instances.mjs; `npm run bench:rekey --
// --instances 1,2` is the full one): 1,500 simulated UEs re-keying against two key-server processes on one
// PostgreSQL database, and against one on SQLite. Every delivery is checked by the bench (opened with the
// UE's KEK, holding the one next TGK); here: all delivered, none failed, both instances served, and the
// report carries the figures the README quotes. No rate is asserted: that is the bench's job.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs module without types, shared with the benchmark
import { runInstances } from "../bench/rekey-instances.mjs";
import { requireDist } from "./helpers/bmsc-process.js";
import { testPostgres, type TestPostgres } from "./helpers/postgres.js";

const dist = pathToFileURL(join(import.meta.dirname, "../dist/")).href;
const load = { ues: 1500, windowMs: 2000, jitterMs: 200, generators: 1, maxSockets: 16, poolSize: 8, dist };
let pgt: TestPostgres;
const dir = mkdtempSync(join(tmpdir(), "rekey-instances-"));
beforeAll(async () => {
  requireDist();
  pgt = await testPostgres();
}, 120_000);
afterAll(async () => {
  await pgt?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("bench:rekey --instances (smoke)", () => {
  it("two key servers on one PostgreSQL, one on SQLite: every UE re-keyed, none failed, both instances served", async () => {
    const pgRow = await runInstances({ ...load, n: 2, store: { kind: "postgres", url: await pgt.database() } });
    const sqliteRow = await runInstances({ ...load, n: 1, store: { kind: "sqlite", path: join(dir, "keys.sqlite") } });
    for (const row of [pgRow, sqliteRow]) {
      expect({ delivered: row.delivered, failed: row.failed, nextTgkIds: row.nextTgkIds }).toEqual({ delivered: 1500, failed: 0, nextTgkIds: 1 });
      expect(row.deliveryP99Ms).toBeGreaterThan(0);
    }
    expect(pgRow.perInstance).toHaveLength(2);
    for (const p of pgRow.perInstance) expect(p.statuses["200"]).toBeGreaterThanOrEqual(700); // round robin: 750 each, retries aside
    expect(pgRow.databaseBytesPerUe).toBeGreaterThan(100);
  }, 120_000);
});
