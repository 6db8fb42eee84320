/**
 * The MKIs a UE saw but holds no key for (candidates), each with the packets that wait for its TEK. An
 * attacker makes as many MKIs as it likes, so everything here is bounded: candidates (least recently seen
 * evicted first), packets in all and per MKI, and bytes. When a bound is hit, packets go first from the
 * MKI with the least demand (fewest packets seen): the real stream's next MKI repeats at the stream's rate,
 * a forged one only as often as the attacker pays for. Queued packets are copies of their own length.
 */
export interface QueuedPacket {
  data: Uint8Array;
  len: number;
  /** Set once tried: the tryUnprotect result. */
  result?: number;
}

export interface Candidate {
  /** The MKI's bytes as a string (a Map key). */
  id: string;
  mki: Uint8Array;
  tgkId: number;
  /** Packets seen under it, and when first and last. */
  count: number;
  firstSeen: number;
  lastSeen: number;
  queue: QueuedPacket[];
  /** Packets under it since the last authentic packet (under any key). */
  seenSinceAuth: number;
  /** Failed derivations (source faults) so far, and when the next try may start. */
  failures: number;
  retryAt: number;
  inFlight?: Promise<void>;
  /** The source answered "unknown TGK" for it: not derived again until the TGKs change. */
  waitTgk?: boolean;
}

export interface CandidateLimits {
  maxCandidates: number;
  maxQueued: number;
  maxQueuedPerMki: number;
  maxQueuedBytes: number;
  /** A candidate not seen for this long is dropped with its packets. */
  candidateTtlMs: number;
}

export class CandidateCache {
  /** In LRU order: least recently seen first. */
  readonly #candidates = new Map<string, Candidate>();
  #queued = 0;
  #queuedBytes = 0;

  /** `onDropped(n)`: n queued packets were dropped (bounds, eviction, expiry). */
  constructor(private readonly limits: CandidateLimits, private readonly onDropped: (n: number) => void) {}

  get size(): number {
    return this.#candidates.size;
  }

  get queued(): number {
    return this.#queued;
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  values(): IterableIterator<Candidate> {
    return this.#candidates.values();
  }

  /** Whether `c` is still held (it may have been evicted or taken while its derivation ran). */
  holds(c: Candidate): boolean {
    return this.#candidates.get(c.id) === c;
  }

  /** One more packet under the candidate `id`, if held: it becomes the most recently seen. */
  seen(id: string, now: number, lastAuthAt: number): Candidate | undefined {
    const c = this.#candidates.get(id);
    if (c === undefined) return undefined;
    this.#candidates.delete(id);
    this.#candidates.set(id, c);
    c.count++;
    c.seenSinceAuth = c.lastSeen < lastAuthAt ? 1 : c.seenSinceAuth + 1;
    c.lastSeen = now;
    return c;
  }

  /** A new candidate for the MKI `buf[mkiAt..mkiAt+mkiLen)`; undefined when full of candidates being derived. */
  add(id: string, buf: Uint8Array, mkiAt: number, mkiLen: number, tgkIdBytes: number, now: number): Candidate | undefined {
    if (this.#candidates.size >= this.limits.maxCandidates && !this.#evict()) return undefined;
    let tgkId = 0;
    for (let i = 0; i < tgkIdBytes; i++) tgkId = tgkId * 256 + buf[mkiAt + i]!;
    const c: Candidate = {
      id, mki: Uint8Array.prototype.slice.call(buf, mkiAt, mkiAt + mkiLen), tgkId, count: 1, seenSinceAuth: 1,
      firstSeen: now, lastSeen: now, queue: [], failures: 0, retryAt: -Infinity,
    };
    this.#candidates.set(id, c);
    return c;
  }

  /** Queues a copy of `buf[0..len)` under `c` (a view would keep the whole datagram alive), within the bounds. */
  enqueue(c: Candidate, buf: Uint8Array, len: number): QueuedPacket {
    const entry: QueuedPacket = { data: Uint8Array.prototype.slice.call(buf, 0, len), len };
    c.queue.push(entry);
    this.#queued++;
    this.#queuedBytes += len;
    if (c.queue.length > this.limits.maxQueuedPerMki) this.#dropOldest(c);
    while (this.#queued > this.limits.maxQueued || this.#queuedBytes > this.limits.maxQueuedBytes) {
      let victim: Candidate | undefined;
      for (const k of this.#candidates.values()) {
        if (k.queue.length > 0 && (victim === undefined || k.count < victim.count)) victim = k;
      }
      if (victim === undefined) break;
      this.#dropOldest(victim);
      if (victim.queue.length === 0 && victim.inFlight === undefined && victim !== c) this.#candidates.delete(victim.id);
    }
    return entry;
  }

  /** Removes `c` and hands over its packets (its TEK is installed: the caller tries them). */
  take(c: Candidate): QueuedPacket[] {
    this.#candidates.delete(c.id);
    this.#unqueue(c);
    const packets = c.queue;
    c.queue = [];
    return packets;
  }

  /** Removes `c`, dropping its packets. */
  drop(c: Candidate): void {
    this.#candidates.delete(c.id);
    this.#unqueue(c);
    this.onDropped(c.queue.length);
    c.queue.length = 0;
  }

  /** Drops the candidates not seen for candidateTtlMs (except those being derived). */
  expire(now: number): void {
    for (const c of [...this.#candidates.values()]) {
      if (c.inFlight === undefined && now - c.lastSeen > this.limits.candidateTtlMs) this.drop(c);
    }
  }

  clear(): void {
    this.#candidates.clear();
    this.#queued = this.#queuedBytes = 0;
  }

  /** Drops the least recently seen candidate that is not being derived; false if there is none. */
  #evict(): boolean {
    for (const k of this.#candidates.values()) {
      if (k.inFlight === undefined) {
        this.drop(k);
        return true;
      }
    }
    return false;
  }

  #dropOldest(c: Candidate): void {
    const e = c.queue.shift()!;
    this.#queued--;
    this.#queuedBytes -= e.len;
    this.onDropped(1);
  }

  #unqueue(c: Candidate): void {
    this.#queued -= c.queue.length;
    for (const e of c.queue) this.#queuedBytes -= e.len;
  }
}
