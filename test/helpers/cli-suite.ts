// Set-up of a suite that runs the built CLI: checks dist/cli/main.js exists, gives a temporary directory for
// config files (mode 0600: they hold KEKs), and at the end kills the children left and removes the directory.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { MAIN, killChildren } from "./processes.js";

/** Registers the suite's beforeAll/afterAll; `jsonFile` writes a JSON file in its directory (from beforeAll on). */
export function cliSuite(prefix: string): { jsonFile: (name: string, value: unknown) => string } {
  let dir = "";
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    killChildren();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    jsonFile: (name, value) => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify(value), { mode: 0o600 });
      return path;
    },
  };
}
