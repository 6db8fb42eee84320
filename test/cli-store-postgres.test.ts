// `mbms-srtp keyserver --store postgres://…`: the BM-SC on the PostgreSQL store, as a real CLI process on
// the throwaway cluster (test/helpers/postgres.ts: fails, never skips, without PostgreSQL). The URL given
// carries a password (user:PASSWORD@ and ?password=; the cluster's trust authentication never asks for it),
// which must appear nowhere in what the process prints.
//   1. A key server on a new database serves a UE (signed request, the MIKEY message opened with its KEK).
//   2. Restarted on the same database (another process, another port): the same TGK — ID, lifetime and key
//      bytes (compared, never printed).
//   3. The control: a key server on another, empty database serves another TGK under the same TGK-ID, so
//      step 2's equality comes from the database, not from chance or a fixed seed.
//   4. An unreachable server, a silent one (the connect timeout) and a malformed URL: a one-line error and
//      exit status 1 / 2, no password.
// Runs dist/cli/main.js (build first). Bounded: each process is killed after 15 s. Network: 127.0.0.1 only.
import { randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN, cli, killChildren, lastJson, type Exit } from "./helpers/processes.js";
import { testPostgres, type TestPostgres } from "./helpers/postgres.js";
import { KEYS_PATH, signRequest } from "../src/mbms/http-protocol.js";
import { openMbmsKeyMessage } from "../src/mbms/key-message.js";
import type { BmscResult } from "../src/cli/bmsc.js";
import { CONNECT_TIMEOUT_MS } from "../src/cli/store-option.js";

const SERVICE = "urn:mbms:pgcli:1";
const USER = "sip:ue@pgcli.invalid";
const KEK = randomBytes(16);
const PASSWORD = `pw-${randomBytes(6).toString("hex")}`;
const QUERY_PASSWORD = `qp-${randomBytes(6).toString("hex")}`;

let pg: TestPostgres;
let dir = "";
let config = "";

/** `url` with the test's password in the user part and in the query (trust authentication ignores both). */
function withPasswords(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD;
  u.searchParams.set("password", QUERY_PASSWORD);
  return u.href;
}

const noPassword = (exit: Exit) => {
  for (const out of [exit.stdout, exit.stderr]) {
    expect(out.includes(PASSWORD), "user-part password printed").toBe(false);
    expect(out.includes(QUERY_PASSWORD), "query password printed").toBe(false);
  }
};

interface Served {
  tgkId: number;
  validFrom: number;
  expiresAt: number;
  tgk: Uint8Array;
}

/** One signed key request for USER; the delivery's current TGK. */
function fetchTgk(url: string): Promise<Served> {
  const body = JSON.stringify({ serviceId: SERVICE, have: [] });
  const kek = Uint8Array.from(KEK);
  const headers = { ...signRequest({ kek, userId: USER, method: "POST", path: KEYS_PATH, body, timeMs: Date.now() }), "content-type": "application/json" };
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method: "POST", path: KEYS_PATH, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
          const d = openMbmsKeyMessage(new Uint8Array(Buffer.concat(chunks)), { kek, nowMs: Date.now() });
          const t = d.tgks[0]!;
          resolve({ tgkId: t.tgkId, validFrom: t.validFrom, expiresAt: t.expiresAt, tgk: t.tgk });
        } catch (e) {
          reject(e);
        } finally {
          kek.fill(0);
        }
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** One keyserver run on `storeUrl`: the TGK it serves, its summary; then SIGTERM and a clean exit. */
async function serve(storeUrl: string): Promise<{ served: Served; summary: BmscResult; exit: Exit }> {
  const p = cli(["keyserver", "--config", config, "--store", storeUrl, "--json"], 15_000);
  const first = (await p.firstLine).line;
  let served: Served | undefined;
  try {
    expect(first).toMatch(/^key server http:\/\/127\.0\.0\.1:\d+$/);
    served = await fetchTgk(first.slice("key server ".length));
  } finally {
    p.child.kill("SIGTERM");
  }
  const exit = await p.done;
  noPassword(exit);
  expect(exit.stderr).toBe("");
  expect(exit.code).toBe(0);
  return { served, summary: lastJson<BmscResult>(exit.stdout), exit };
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
  pg = await testPostgres();
  dir = mkdtempSync(join(tmpdir(), "mbms-pgcli-"));
  config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify({
    services: [{ serviceId: SERVICE, tekRand2PeriodMs: 1000, tgkLifetimeMs: 3_600_000 }],
    users: [{ userId: USER, kek: KEK.toString("hex") }],
  }), { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  killChildren();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await pg?.stop();
});

describe("mbms-srtp keyserver --store postgres://…", () => {
  it("serves keys from the database; a restart on it serves the same TGK, another database another; no password printed", async () => {
    const url = withPasswords(pg.url);
    const run1 = await serve(url);
    expect(run1.summary.keyServer!.requests).toBe(1);
    expect(run1.summary.keyServer!.errors).toBe(0);
    // The summary names the store: kind and place, the passwords replaced.
    expect(run1.summary.keyServer!.store).toMatch(/^postgres postgres(?:ql)?:\/\/mbms_test:\*\*\*@localhost\/mbms_test_\w+\?/);
    expect(run1.summary.keyServer!.store).toContain("password=***");
    const rows = await pg.admin("SELECT tgk_id FROM tgks WHERE service_id = $1", [SERVICE]);
    expect(rows.rows.map((r: { tgk_id: number | string }) => Number(r.tgk_id))).toEqual([run1.served.tgkId]);

    const run2 = await serve(url);
    expect(run2.summary.keyServer!.url).not.toBe(run1.summary.keyServer!.url);
    expect({ ...run2.served, tgk: undefined }).toEqual({ ...run1.served, tgk: undefined });
    expect(sameBytes(run1.served.tgk, run2.served.tgk), "the restart serves the same TGK bytes").toBe(true);

    const other = await serve(withPasswords(await pg.database()));
    expect(other.served.tgkId).toBe(run1.served.tgkId); // IDs start at 1 in every new store
    expect(sameBytes(run1.served.tgk, other.served.tgk), "another database, another TGK").toBe(false);
    for (const r of [run1, run2, other]) r.served.tgk.fill(0);
  }, 40_000);

  it("an unreachable server: one line naming the redacted store and the failure, exit status 1", async () => {
    // Port 1 on 127.0.0.1: nothing listens there, the connection is refused at once.
    const exit = await cli(["keyserver", "--config", config, "--store", `postgres://mbms:${PASSWORD}@127.0.0.1:1/mbms?password=${QUERY_PASSWORD}`, "--duration", "5"], 15_000).done;
    noPassword(exit);
    expect(exit.stdout).toBe("");
    expect(exit.stderr.trim()).toBe("mbms-srtp: ERR_STORE: key store postgres postgres://mbms:***@127.0.0.1:1/mbms?password=***: opening the key store failed (Error ECONNREFUSED)");
    expect(exit.code).toBe(1);
  });

  it("a server that accepts and never answers: the same error after the connect timeout, not a hang", async () => {
    const silent = net.createServer(() => undefined); // accepts, says nothing
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const t0 = Date.now();
      const exit = await cli(["keyserver", "--config", config, "--store", `postgres://mbms:${PASSWORD}@127.0.0.1:${port}/mbms`, "--duration", "30"], 25_000).done;
      noPassword(exit);
      expect(exit.stderr.trim()).toBe(`mbms-srtp: ERR_STORE: key store postgres postgres://mbms:***@127.0.0.1:${port}/mbms: opening the key store failed (Error)`);
      expect(exit.code).toBe(1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS);
    } finally {
      silent.close();
    }
  }, 30_000);

  it("a malformed URL is a usage error (exit status 2) that does not quote it", async () => {
    const exit = await cli(["keyserver", "--config", config, "--store", `postgresql://mbms:${PASSWORD}@[127.0.0.1/mbms`], 15_000).done;
    noPassword(exit);
    expect(exit.stderr.trim()).toBe("mbms-srtp keyserver: --store: not a valid postgres:// URL");
    expect(exit.code).toBe(2);
  });
});
