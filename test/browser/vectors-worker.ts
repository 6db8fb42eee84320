// Where the browser receiver decrypts: a module Worker. It imports the built library from /dist/, as a
// page's receiver does (vectors.test.ts bundles this file with the vector suites and JSON, the library
// left out), runs every vector suite on both WASM builds and posts the results to the page.
import * as dist from "../../dist/index.js";
import type * as Src from "../../src/index.js";
import { published } from "../vectors/published.js";
import { runVectors, type VectorResult } from "../vectors/run-vectors.js";

/** What the Worker posts: where it ran, and each build's results. */
export type VectorsMessage =
  | { scope: string; runs: { flavor: string; loaded: string; results: VectorResult[] }[] }
  | { error: string };

// dist/ is src/ compiled, the same API; TypeScript only sees its classes (private members) as other types.
const lib = dist as unknown as typeof Src;

async function run(): Promise<VectorsMessage> {
  const runs = [];
  for (const flavor of ["simd", "scalar"] as const) {
    const core = await lib.initCore({ flavor });
    runs.push({ flavor, loaded: core.flavor, results: runVectors(lib, core, published) });
  }
  return { scope: globalThis.constructor.name, runs };
}

run().then(
  (message) => postMessage(message),
  (e: unknown) => postMessage({ error: String((e as Error)?.stack ?? e) } satisfies VectorsMessage),
);
