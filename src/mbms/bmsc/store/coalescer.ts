// Calls gathered into batches while earlier batches are in flight, like a database's group commit: with
// fewer than `maxInFlight` batches out, a call goes at once (alone, under light load: no added latency);
// beyond, calls wait and leave together, up to `maxBatch` per batch, as soon as a batch comes back. One
// round trip then serves many calls — what bounds a store on the far side of a socket is the round trip
// (the write, the server's wake-up and statement overhead), not the rows. A failed batch fails each of its calls.
export class Coalescer<I, O> {
  readonly #run: (items: I[]) => Promise<O[]>;
  readonly #maxInFlight: number;
  readonly #maxBatch: number;
  #queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  #inFlight = 0;

  /** `run` answers items[k] with its result[k]. */
  constructor(run: (items: I[]) => Promise<O[]>, maxInFlight: number, maxBatch: number) {
    this.#run = run;
    this.#maxInFlight = maxInFlight;
    this.#maxBatch = maxBatch;
  }

  call(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      let run: Promise<O[]>;
      try {
        run = this.#run(batch.map((b) => b.item));
      } catch (e) {
        run = Promise.reject(e);
      }
      run.then(
        (out) => batch.forEach((b, k) => b.resolve(out[k]!)),
        (e: unknown) => batch.forEach((b) => b.reject(e)),
      ).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }
}
