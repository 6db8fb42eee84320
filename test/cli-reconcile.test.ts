// `mbms-srtp keyserver --store FILE`: the config file is the truth about users and their subscriptions at
// every start, whatever the store remembers (SessionManager.reconcileUsers). Three runs on one SQLite file,
// each a real CLI process on 127.0.0.1, asked over HTTP with signed requests:
//   1. users A (KEK1), B, and C (subscribed to service 1 only): all get keys; C asking for service 2 → 403.
//   2. A with KEK2, B gone: A signed with KEK1 → 401, with KEK2 → 200; B → 401; B is still in the file,
//      disabled (its record kept).
//   3. B back: 200 again.
// Runs dist/cli/main.js (build first). Bounded: each process is killed after 15 s. No key bytes printed.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN, cli, killChildren, lastJson } from "./helpers/processes.js";
import { SqliteKeyStore } from "../src/mbms/bmsc/store/index.js";
import { KEYS_PATH, signRequest } from "../src/mbms/http-protocol.js";
import type { BmscResult } from "../src/cli/bmsc.js";

const S1 = "urn:mbms:reconcile:1";
const S2 = "urn:mbms:reconcile:2";
const A = "sip:a@reconcile.invalid";
const B = "sip:b@reconcile.invalid";
const C = "sip:c@reconcile.invalid";
const hexKek = () => randomBytes(16).toString("hex");
const KEK1 = hexKek();
const KEK2 = hexKek();
const KEK_B = hexKek();
const KEK_C = hexKek();

let dir = "";
let storePath = "";
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
  dir = mkdtempSync(join(tmpdir(), "mbms-reconcile-"));
  storePath = join(dir, "keys.sqlite");
});
afterAll(() => {
  killChildren();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function keyRequest(url: string, userId: string, kekHex: string, serviceId: string): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ serviceId, have: [] });
  const kek = Uint8Array.from(Buffer.from(kekHex, "hex"));
  const headers = { ...signRequest({ kek, userId, method: "POST", path: KEYS_PATH, body, timeMs: Date.now() }), "content-type": "application/json" };
  kek.fill(0);
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method: "POST", path: KEYS_PATH, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: res.statusCode === 200 ? "" : Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** One keyserver run on the store with these users: `ask` gets its URL; then SIGTERM and a clean exit. */
async function run(users: object[], ask: (url: string) => Promise<void>): Promise<void> {
  const config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify({ services: [{ serviceId: S1 }, { serviceId: S2 }], users }), { mode: 0o600 });
  const p = cli(["keyserver", "--config", config, "--store", storePath, "--json"], 15_000);
  const first = (await p.firstLine).line;
  expect(first).toMatch(/^key server http:\/\/127\.0\.0\.1:\d+$/);
  try {
    await ask(first.slice("key server ".length));
  } finally {
    p.child.kill("SIGTERM");
  }
  const exit = await p.done;
  expect(exit.stderr).toBe("");
  expect(exit.code).toBe(0);
  expect(lastJson<BmscResult>(exit.stdout).keyServer!.url).toBe(first.slice("key server ".length));
}

describe("keyserver --store: users and subscriptions follow the config at every start", () => {
  it("a changed KEK takes effect, a removed user is refused (disabled, kept), a returning one is served; unsubscribed → 403", async () => {
    await run([{ userId: A, kek: KEK1 }, { userId: B, kek: KEK_B }, { userId: C, kek: KEK_C, services: [S1] }], async (url) => {
      expect((await keyRequest(url, A, KEK1, S1)).status).toBe(200);
      expect((await keyRequest(url, A, KEK1, S2)).status).toBe(200); // no "services": every service of the file
      expect((await keyRequest(url, B, KEK_B, S1)).status).toBe(200);
      expect((await keyRequest(url, C, KEK_C, S1)).status).toBe(200);
      expect(await keyRequest(url, C, KEK_C, S2)).toEqual({ status: 403, body: '{"error":"forbidden"}' });
    });

    await run([{ userId: A, kek: KEK2 }, { userId: C, kek: KEK_C, services: [S1] }], async (url) => {
      expect(await keyRequest(url, A, KEK1, S1)).toEqual({ status: 401, body: '{"error":"unauthorized"}' });
      expect((await keyRequest(url, A, KEK2, S1)).status).toBe(200);
      expect(await keyRequest(url, B, KEK_B, S1)).toEqual({ status: 401, body: '{"error":"unauthorized"}' });
      expect((await keyRequest(url, C, KEK_C, S2)).status).toBe(403);
    });
    const st = new SqliteKeyStore(storePath);
    try {
      const b = st.getUser(B)!;
      b.kek.fill(0);
      expect({ listed: st.listUserIds().includes(B), disabled: b.disabled, services: st.listSubscriptions(B) })
        .toEqual({ listed: true, disabled: true, services: [S1, S2] });
    } finally {
      st.close();
    }

    await run([{ userId: A, kek: KEK2 }, { userId: B, kek: KEK_B }, { userId: C, kek: KEK_C }], async (url) => {
      expect((await keyRequest(url, B, KEK_B, S1)).status).toBe(200);
      expect((await keyRequest(url, C, KEK_C, S2)).status).toBe(200); // "services" dropped: every service again
    });
  }, 40_000);

  it("refuses a user subscribed to a service the file does not define (usage error, nothing served)", async () => {
    const config = join(dir, "bad.json");
    writeFileSync(config, JSON.stringify({ services: [{ serviceId: S1 }], users: [{ userId: A, kek: KEK1, services: [S2] }] }), { mode: 0o600 });
    const exit = await cli(["keyserver", "--config", config, "--store", join(dir, "bad.sqlite")], 15_000).done;
    expect(exit.code).toBe(2);
    expect(exit.stderr).toContain("users[0].services");
    expect(exit.stderr).not.toContain(KEK1);
    expect(exit.stdout).toBe("");
  });
});
