// Usage: node scripts/ct-check/cli.mjs <module.wasm> <export> [<export> ...]
// Prints one line per checked export (and one per violation); exits 1 on any violation.
import { readFileSync } from "node:fs";
import { checkConstantTime } from "./taint.mjs";

const [file, ...names] = process.argv.slice(2);
if (!file || names.length === 0) {
  console.error("usage: node scripts/ct-check/cli.mjs <module.wasm> <export> [<export> ...]");
  process.exit(2);
}

const results = checkConstantTime(new Uint8Array(readFileSync(file)), names);
let total = 0;
for (const { fn, violations } of results) {
  console.log(`${violations.length ? "LEAK" : "ok  "} ${fn}${violations.length ? ` (${violations.length})` : ""}`);
  for (const v of violations) console.log(`       [${v.kind}] ${v.where}`);
  total += violations.length;
}
console.log(total ? `${total} violation(s) in ${file}` : `no violations in ${file}`);
process.exit(total ? 1 : 0);
