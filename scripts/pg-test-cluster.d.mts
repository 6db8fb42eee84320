// Types for pg-test-cluster.mjs beside it (plain JavaScript: it also runs as a command and as a vitest globalSetup).
export const SUPERUSER: string;
/** The bin directory of Debian's newest PostgreSQL; throws, naming `apt-get install postgresql`, if there is none. */
export function findBinaries(): string;
/** initdb + pg_ctl start in a fresh temp dir: the dir and the URL of its `postgres` database. */
export function startCluster(): { dir: string; url: string };
/** The URL of database `database` on the cluster whose socket is in `dir`. */
export function clusterUrl(dir: string, database: string): string;
/** Stops the cluster in `dir` and deletes the dir. */
export function stopCluster(dir: string): void;
/** vitest globalSetup: starts a cluster, sets MBMS_TEST_PG_URL, returns the teardown. */
export default function setup(): () => void;
