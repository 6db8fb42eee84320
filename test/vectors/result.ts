// What a vector suite returns: one result per published vector (or per check of one), so that a failure
// names the vector. Browser-safe: no Node built-ins, no test framework (run-vectors.ts runs in Node and
// in a browser Worker alike).
export interface VectorResult {
  suite: string;
  name: string;
  ok: boolean;
  /** What the library computed (or "threw: …"), and what the vector says; JSON-safe, to cross a postMessage. */
  got: unknown;
  want: unknown;
}

/** Runs one check; a throw is a failed result, so that one broken vector does not hide the others. */
export function check(suite: string, name: string, want: unknown, compute: () => unknown): VectorResult {
  let got: unknown;
  try {
    got = compute();
  } catch (e) {
    got = `threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  return { suite, name, ok: JSON.stringify(got) === JSON.stringify(want), got, want };
}
