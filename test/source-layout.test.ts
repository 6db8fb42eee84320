// The rules of docs/architecture.md §2 that a reader of the imports can check: no import cycle in src/,
// the browser-safe layers import no Node built-in (directly or through another module), and no source
// file outgrows one concern (about 400 lines).
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../src/", import.meta.url));
const MAX_LINES = 420;
/** Node-only modules by design: the CLI, the UDP sockets and the relay (net/), the crypto worker pool (workers/), the BM-SC's HTTP server and store, the card's worker glue. */
const NODE_ONLY = [/^cli\//, /^net\//, /^workers\//, /^mbms\/bmsc\//, /^mbms\/uicc\/card-worker\.ts$/, /^selftest\.ts$/];

function sources(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sources(path) : e.name.endsWith(".ts") ? [relative(src, path)] : [];
  });
}

interface ModuleInfo {
  local: string[];
  builtins: string[];
}

/** Static imports and re-exports (type-only ones included: a cycle of types is still a tangle). */
function readModule(file: string): ModuleInfo {
  const text = readFileSync(join(src, file), "utf8");
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)].map((m) => m[1]!);
  return {
    local: specifiers.filter((s) => s.startsWith(".")).map((s) => relative(src, resolve(dirname(join(src, file)), s)).replace(/\.js$/, ".ts")),
    builtins: specifiers.filter((s) => s.startsWith("node:")),
  };
}

const files = sources();
const graph = new Map(files.map((f) => [f, readModule(f)]));

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
function cycles(): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.local ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.local.includes(v)) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

/** The Node built-ins a module reaches through its imports, with the path to the first one. */
function reachedBuiltin(file: string, seen = new Set<string>()): string[] | undefined {
  if (seen.has(file)) return undefined;
  seen.add(file);
  const info = graph.get(file);
  if (!info) return undefined;
  if (info.builtins.length > 0) return [file, info.builtins[0]!];
  for (const dep of info.local) {
    const path = reachedBuiltin(dep, seen);
    if (path) return [file, ...path];
  }
  return undefined;
}

describe("source layout", () => {
  it("reads every module's imports", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get("index.ts")!.local).toContain("srtp/index.ts");
  });

  it("has no import cycle", () => {
    expect(cycles()).toEqual([]);
  });

  it("keeps Node built-ins out of the browser-safe modules", () => {
    const browserSafe = files.filter((f) => !NODE_ONLY.some((r) => r.test(f)));
    const leaks = browserSafe.map((f) => reachedBuiltin(f)).filter((p): p is string[] => p !== undefined);
    expect(leaks).toEqual([]);
  });

  it(`has no source file over ${MAX_LINES} lines`, () => {
    const long = files.map((f) => [f, readFileSync(join(src, f), "utf8").split("\n").length] as const)
      .filter(([, n]) => n > MAX_LINES);
    expect(long).toEqual([]);
  });
});
