#!/usr/bin/env node
// A throwaway PostgreSQL cluster for the tests of the PostgreSQL key store: Debian's binaries
// (/usr/lib/postgresql/<version>/bin, package `postgresql`), `initdb` in a fresh temp dir, the server
// listening on a unix socket in that dir only (no TCP), fsync off (a test cluster dies with its data), one
// superuser with trust authentication. Everything is stopped and deleted at the end.
//
// initdb and postgres refuse to run as root: as root they run as the `postgres` system user (runuser), the
// temp dir owned by it; the client (root) reaches the socket anyway.
//
// Three ways to use it:
//   node scripts/pg-test-cluster.mjs start       prints `export MBMS_TEST_PG_URL=…` and `export MBMS_TEST_PG_DIR=…`
//   node scripts/pg-test-cluster.mjs stop DIR    stops the cluster in DIR and deletes DIR
//   vitest globalSetup: scripts/pg-test-cluster.mjs   sets MBMS_TEST_PG_URL for the workers, stops at the end
// and from a test file through test/helpers/postgres.ts (which starts one for its file when MBMS_TEST_PG_URL is unset).
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const SUPERUSER = "mbms_test";
const PG_LIB = "/usr/lib/postgresql";

/** The bin directory of the newest PostgreSQL Debian installed; a clear error if there is none. */
export function findBinaries() {
  const versions = existsSync(PG_LIB)
    ? readdirSync(PG_LIB).filter((v) => existsSync(join(PG_LIB, v, "bin", "initdb")) && existsSync(join(PG_LIB, v, "bin", "pg_ctl")))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `PostgreSQL server binaries not found (${PG_LIB}/*/bin/initdb and pg_ctl): install them with \`apt-get install postgresql\`, ` +
        "or point MBMS_TEST_PG_URL at a server the tests may create databases on",
    );
  }
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1);
  return join(PG_LIB, newest, "bin");
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as the `postgres` system user when we are root. */
function run(bin, args) {
  const [cmd, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  try {
    return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
  } catch (e) {
    throw new Error(`${bin} ${args[0] ?? ""} failed: ${String(e.stderr ?? e.message).trim()}`);
  }
}

/** initdb + pg_ctl start in a fresh temp dir; returns the dir and the URL of the `postgres` database. */
export function startCluster() {
  const bin = findBinaries();
  const dir = mkdtempSync(join(tmpdir(), "mbms-pg-"));
  try {
    if (isRoot()) {
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
      chownSync(dir, uid, gid);
    }
    chmodSync(dir, 0o700);
    const data = join(dir, "data");
    run(join(bin, "initdb"), ["-D", data, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]);
    const serverOptions = `-k ${dir} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200`;
    run(join(bin, "pg_ctl"), ["start", "-w", "-t", "60", "-D", data, "-l", join(dir, "server.log"), "-o", serverOptions]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, url: clusterUrl(dir, "postgres") };
}

/** The URL of database `database` on the cluster whose socket is in `dir`. */
export const clusterUrl = (dir, database) => `postgresql://${SUPERUSER}@localhost/${database}?host=${encodeURIComponent(dir)}`;

/** Stops the cluster in `dir` (immediate: nothing to keep) and deletes the dir. */
export function stopCluster(dir) {
  try {
    if (existsSync(join(dir, "data", "postmaster.pid"))) run(join(findBinaries(), "pg_ctl"), ["stop", "-w", "-m", "immediate", "-D", join(dir, "data")]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** vitest globalSetup: one cluster for the whole run, its URL in MBMS_TEST_PG_URL (inherited by the workers). */
export default function setup() {
  const { dir, url } = startCluster();
  process.env.MBMS_TEST_PG_URL = url;
  return () => stopCluster(dir);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [command, dir] = process.argv.slice(2);
  if (command === "start") {
    const c = startCluster();
    console.log(`export MBMS_TEST_PG_URL='${c.url}'\nexport MBMS_TEST_PG_DIR='${c.dir}'`);
  } else if (command === "stop" && dir) {
    stopCluster(dir);
  } else {
    console.error("usage: pg-test-cluster.mjs start | stop DIR");
    process.exit(2);
  }
}
