/**
 * How long a CLI command runs: until `durationS` seconds have passed (forever when not finite), the
 * signal aborts (SIGINT), or `end()` is called (e.g. the RTP input went idle).
 */
export class RunWindow {
  /** True when the run ended because the signal aborted. */
  interrupted = false;
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(durationS: number, signal?: AbortSignal) {
    this.done = new Promise<void>((resolve) => {
      const timer = Number.isFinite(durationS) ? setTimeout(resolve, durationS * 1000) : undefined;
      this.finish = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
    const abort = () => {
      this.interrupted = true;
      this.finish();
    };
    if (signal?.aborted) abort();
    else signal?.addEventListener("abort", abort, { once: true });
  }

  /** Ends the run early (not an interruption). */
  end(): void {
    this.finish();
  }
}
