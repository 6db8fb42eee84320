// The package as a user gets it: `npm pack`, installed into an empty project, every entry point of the
// exports map imported and used from Node ESM (and type-checked), deep imports refused, and the root entry
// bundled for the browser with esbuild (no Node built-ins may be pulled in) and run.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../", import.meta.url));
const ENTRIES = [".", "./wasm", "./bmsc", "./uicc-worker", "./soft-card", "./crypto-workers", "./browser"];

let dir: string;
let packed: { files: { path: string }[]; filename: string };

const run = (cmd: string, args: string[], cwd = dir) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mbms-srtp-pack-"));
  // dist/ is built by `npm install` (prepare); --ignore-scripts packs it as it is.
  [packed] = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], repo));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  run("npm", ["install", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", join(dir, packed.filename)]);
  // --ignore-scripts skips better-sqlite3's native build: take the one this checkout built (same pinned version).
  cpSync(join(repo, "node_modules/better-sqlite3/build"), join(dir, "node_modules/better-sqlite3/build"), { recursive: true });
  symlinkSync(join(repo, "node_modules/@types"), join(dir, "node_modules/@types"));
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A round trip through the engine, the same in Node and in the browser bundle. */
const ROUND_TRIP = `
  const key = { key: new Uint8Array(16).fill(1), salt: new Uint8Array(14).fill(2) };
  const tx = new SrtpContext({ profile: "AES_CM_128_HMAC_SHA1_80", keys: [key] });
  const rx = new SrtpContext({ profile: "AES_CM_128_HMAC_SHA1_80", keys: [key] });
  const rtp = new Uint8Array(172); rtp.set([0x80, 0x60, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]); rtp.fill(7, 12);
  const buf = new Uint8Array(256); buf.set(rtp);
  const srtp = tx.protect(buf, rtp.length);
  const back = rx.unprotect(buf, srtp);
  console.log(JSON.stringify({ srtp, same: back === rtp.length && buf.subarray(0, back).every((b, i) => b === rtp[i]) }));
`;

describe("the packed package", () => {
  it("holds the built library and its sources, not the tests, benchmarks or oracles", () => {
    const paths = packed.files.map((f) => f.path);
    for (const must of ["dist/index.js", "dist/index.d.ts", "dist/wasm/index.js", "dist/mbms/bmsc/index.js",
      "dist/mbms/uicc/card-worker.js", "dist/mbms/uicc/soft-card.js", "dist/workers/crypto-pool.js", "dist/workers/crypto-worker.js", "dist/cli/main.js", "dist/browser/index.js", "dist/browser/receiver-worker.js", "web/index.html", "assembly/index.ts", "README.md",
      // The batched UDP addon's sources: built from source at install ("install": node-gyp-build).
      "native/udp/binding.gyp", "native/udp/src/addon.c", "native/udp/src/batch_io.c", "native/udp/src/batch_io.h", "dist/net/batch-udp.js"]) {
      expect(paths).toContain(must);
    }
    // Not the tests, the libsrtp oracle's addon or a local build of the UDP addon.
    expect(paths.filter((p) => /^(test|bench|reference|src|scripts|native\/libsrtp|native\/udp\/build)\//.test(p))).toEqual([]);
  });

  it("imports and uses every entry point from Node ESM", () => {
    writeFileSync(join(dir, "use.mjs"), `
      import { SrtpContext, loadCore, sealPskMessage, UeReceiver, UiccProxy } from "mbms-srtp";
      import { initCore } from "mbms-srtp/wasm";
      import { SessionManager, SqliteKeyStore } from "mbms-srtp/bmsc";
      import { spawnCardWorker } from "mbms-srtp/uicc-worker";
      import { SoftCard } from "mbms-srtp/soft-card";
      import { SrtpCryptoPool } from "mbms-srtp/crypto-workers";
      ${ROUND_TRIP}
      const core = await initCore();
      const store = new SqliteKeyStore(":memory:");
      const manager = new SessionManager({ store });
      await manager.addUser("alice", new Uint8Array(16).fill(3));
      const card = new SoftCard(new Uint8Array(16).fill(3), { core });
      const proxy = spawnCardWorker(new Uint8Array(16).fill(3));
      await proxy.close();
      const pool = await SrtpCryptoPool.start({ direction: "protect", workers: 1, context: { keys: [{ key: new Uint8Array(16), salt: new Uint8Array(14) }] } });
      const rtpBatch = { buffer: new Uint8Array(64), offsets: Int32Array.of(0), lengths: Int32Array.of(20) };
      rtpBatch.buffer[0] = 0x80;
      if ((await pool.run(rtpBatch)) !== 1 || rtpBatch.lengths[0] !== 30) throw new Error("the crypto pool did not protect");
      await pool.close();
      await manager.stop();
      store.close();
      console.log(JSON.stringify({ types: [typeof loadCore, typeof sealPskMessage, typeof UeReceiver, typeof UiccProxy, typeof card] }));
    `);
    const lines = run("node", ["use.mjs"]).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ srtp: 172 + 10, same: true });
    expect(lines[1]).toEqual({ types: ["function", "function", "function", "function", "object"] });
  });

  it("type-checks a consumer of every entry point", () => {
    writeFileSync(join(dir, "use.ts"), `
      import { SrtpContext, type SrtpProfileName } from "mbms-srtp";
      import { loadCore, type CryptoCore } from "mbms-srtp/wasm";
      import { SessionManager } from "mbms-srtp/bmsc";
      import { spawnCardWorker } from "mbms-srtp/uicc-worker";
      import { SoftCard } from "mbms-srtp/soft-card";
      import { SrtpCryptoPool, type CryptoPoolOptions } from "mbms-srtp/crypto-workers";
      import { BrowserReceiver, type BrowserReceiverStats } from "mbms-srtp/browser";
      const profile: SrtpProfileName = "AES_256_CM_HMAC_SHA1_80";
      const core: CryptoCore = loadCore();
      const stats = (r: BrowserReceiver): BrowserReceiverStats | undefined => r.stats;
      const poolOptions: CryptoPoolOptions = { direction: "unprotect", workers: 2, context: { keys: [] } };
      export const used = [SrtpContext, profile, core, SessionManager, spawnCardWorker, SoftCard, stats, SrtpCryptoPool, poolOptions];
    `);
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, types: ["node"] },
      files: ["use.ts"],
    }));
    const tsc = () => {
      try {
        return run("node", [join(repo, "node_modules/typescript/bin/tsc"), "-p", "."]);
      } catch (e) {
        return String((e as { stdout?: string }).stdout ?? e);
      }
    };
    expect(tsc()).toBe("");
  });

  it("refuses deep imports past the exports map", () => {
    writeFileSync(join(dir, "deep.mjs"), `import("mbms-srtp/dist/mbms/uicc/soft-card.js").then(() => console.log("imported"), (e) => console.log(e.code));`);
    expect(run("node", ["deep.mjs"]).trim()).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });

  it("bundles the root entry for the browser with esbuild, without Node built-ins, and the bundle runs", async () => {
    writeFileSync(join(dir, "browser.mjs"), `import { SrtpContext, UeReceiver, UiccProxy } from "mbms-srtp";\n${ROUND_TRIP}\nconsole.log(typeof UeReceiver, typeof UiccProxy);`);
    const result = await build({
      absWorkingDir: dir, entryPoints: ["browser.mjs"], bundle: true, format: "esm", platform: "browser",
      outfile: join(dir, "bundle.mjs"), logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    const [first, second] = run("node", ["bundle.mjs"]).trim().split("\n");
    expect(JSON.parse(first!)).toEqual({ srtp: 182, same: true });
    expect(second).toBe("function function");
  });

  it("bundles mbms-srtp/browser and its workers with esbuild, without Node built-ins", async () => {
    writeFileSync(join(dir, "page.mjs"), `import { BrowserReceiver, BrowserReceiverError } from "mbms-srtp/browser";\nconsole.log(typeof BrowserReceiver, new BrowserReceiverError("ERR_STATE", "x").code);`);
    const workers = ["browser/receiver-worker.js", "mbms/uicc/card-web-worker.js"].map((w) => join(dir, "node_modules/mbms-srtp/dist", w));
    const result = await build({
      absWorkingDir: dir, entryPoints: ["page.mjs", ...workers], bundle: true, format: "esm", platform: "browser",
      outdir: join(dir, "web-bundle"), logLevel: "silent",
    });
    expect(result.errors).toEqual([]);
    expect(run("node", ["web-bundle/page.js"]).trim()).toBe("function ERR_STATE");
  });
});
