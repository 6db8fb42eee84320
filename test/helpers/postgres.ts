// PostgreSQL for the tests of the PostgreSQL key store. The server is MBMS_TEST_PG_URL when set (the
// vitest globalSetup scripts/pg-test-cluster.mjs sets it, or CI / a developer points it at a server the tests
// may create databases on), else a throwaway cluster started for this test file (scripts/pg-test-cluster.mjs:
// fails, naming `apt-get install postgresql`, when the binaries are missing — never skips). Each test file
// gets a database of its own, dropped at the end, so files running in parallel workers never meet.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { startCluster, stopCluster } from "../../scripts/pg-test-cluster.mjs";

export interface TestPostgres {
  /** The URL of this file's database (empty when created). */
  readonly url: string;
  /** A further empty database on the same server, dropped by stop(). */
  database(): Promise<string>;
  /** A new schema name, unique on the server: an empty store for one test. */
  schema(): string;
  /** Runs SQL on this file's database as the superuser (test set-up and sabotage). */
  admin(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  /** Drops the databases and stops the cluster if this file started it. */
  stop(): Promise<void>;
}

const withDatabase = (url: string, name: string): string => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.href;
};

/** For beforeAll: this file's database (and cluster, if none is configured). */
export async function testPostgres(): Promise<TestPostgres> {
  const configured = process.env.MBMS_TEST_PG_URL;
  const cluster = configured ? undefined : startCluster();
  const server = configured ?? cluster!.url;
  const tag = `${process.pid}_${randomBytes(4).toString("hex")}`;
  const created: string[] = [];
  const root = new pg.Client({ connectionString: server });
  await root.connect();
  const database = async () => {
    const name = `mbms_test_${tag}_${created.length}`;
    await root.query(`CREATE DATABASE ${name}`);
    created.push(name);
    return withDatabase(server, name);
  };
  const url = await database();
  const adminPool = new pg.Pool({ connectionString: url, max: 2 });
  adminPool.on("error", () => undefined);
  let schemas = 0;
  return {
    url, database,
    schema: () => `t_${tag}_${schemas++}`,
    admin: (sql, params) => adminPool.query(sql, params),
    async stop() {
      await adminPool.end();
      try {
        for (const name of created) await root.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await root.end();
        if (cluster) stopCluster(cluster.dir);
      }
    },
  };
}
