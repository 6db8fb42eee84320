/**
 * Per-service serialisation of the Session Manager's store work (session-manager.ts). With an asynchronous
 * store a step (new TGKs, a TEK_RAND2 rotation, a revocation) awaits several calls; two of them for one
 * service interleaved would both see the same state and both act on it (two fresh TGKs for one expiry, two
 * rotations for one period). Here the tasks of one service run one at a time, in the order queued; those of
 * different services run side by side.
 *
 * `step` coalesces the schedule step: while one is queued and not yet started, asking again joins it, so a
 * store slower than the timers (or a sender pulling steps while its TGK expired) queues at most one step
 * behind the running one instead of a growing backlog.
 */
const noop = (): void => undefined;

export class ServiceQueue {
  #tails = new Map<string, Promise<void>>();
  #waitingSteps = new Map<string, Promise<unknown>>();

  /** Runs `task` after every task queued before for `serviceId`; settles as it does. */
  run<T>(serviceId: string, task: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(serviceId) ?? Promise.resolve()).then(task);
    const tail = result.then(noop, noop);
    this.#tails.set(serviceId, tail);
    void tail.then(() => {
      if (this.#tails.get(serviceId) === tail) this.#tails.delete(serviceId);
    });
    return result;
  }

  /** As run, but joins the step of `serviceId` already queued and not started, if there is one. */
  step<T>(serviceId: string, task: () => Promise<T>): Promise<T> {
    const waiting = this.#waitingSteps.get(serviceId);
    if (waiting) return waiting as Promise<T>;
    const queued = this.run(serviceId, () => {
      this.#waitingSteps.delete(serviceId);
      return task();
    });
    this.#waitingSteps.set(serviceId, queued);
    return queued;
  }

  /** Resolves once every task queued so far has settled. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }
}
