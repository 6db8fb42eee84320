// Types for run.mjs beside it (plain JavaScript, run by Node without a build; the smoke test imports it).
export interface CaseTime {
  ms: number;
  /** Packets whose output was checked against the original payload. */
  checked: number;
}

export interface BrowserBenchResult {
  config: { packets: number; payload: number; batch: number };
  /** The WASM build in the Worker and on the main thread. */
  flavor: string;
  mainFlavor: string;
  userAgent: string;
  crossOriginIsolated: boolean;
  /** Per case: whether it refused a packet whose tag had a flipped bit. */
  forgeryRejected: Record<string, boolean>;
  warmUp: Record<string, CaseTime>;
  trials: Record<string, CaseTime>[];
  /** The WASM single-packet case, alternately in the Worker and on the main thread. */
  threadsWarmUp: { worker: CaseTime; main: CaseTime };
  threads: { worker: CaseTime; main: CaseTime }[];
}

export function runBrowserBench(options: { packets: number; payload: number; batch: number; trials: number }): Promise<BrowserBenchResult>;
