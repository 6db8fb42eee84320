// A bounded reorder buffer for one RTP stream, keyed by the 16-bit sequence number extended past its wrap
// (RFC 3550 Appendix A.1). It hands packets on in sequence order; a missing one is waited for only until
// the buffer is full, or a later access unit is complete behind it and a quarter of the buffer is held
// (so that a few small AUs swapped by the network are not mistaken for loss); then it is declared lost. Packets behind the
// playout point are dropped (late, or duplicates when this sequence number was already handed on).
// In-order packets are handed on from the caller's buffer without a copy; only early ones are copied.

/** Receives the payload `buf[start..end)` of the packet with extended sequence number `ext`, in order. */
export type DeliverPacket = (buf: Uint8Array, start: number, end: number, ext: number, timestamp: number, marker: boolean) => void;

export interface ReorderStats {
  reordered: number;
  duplicates: number;
  late: number;
  lost: number;
}

/** Extended numbers start this far up so that a stream that steps back across its start stays positive. */
const ORIGIN = 1 << 30;
const EMPTY = -1;

export class RtpReorderBuffer {
  readonly stats: ReorderStats = { reordered: 0, duplicates: 0, late: 0, lost: 0 };
  private readonly mask: number;
  /** Packets held behind a hole before a complete AU among them gives the hole up. */
  private readonly patience: number;
  /** Per slot (ext & mask): the extended number held, its payload copy, length, timestamp and marker. */
  private readonly held: Float64Array;
  private readonly data: Uint8Array[];
  private readonly size: Uint32Array;
  private readonly ts: Uint32Array;
  private readonly mark: Uint8Array;
  /** The extended numbers last handed on, per slot: what tells a duplicate from a late packet. */
  private readonly handed: Float64Array;
  private started = false;
  /** The playout point: the next extended number to hand on. */
  private next = 0;
  private highest = 0;
  private count = 0;

  /** `capacity`: a power of two, the most packets held and how far ahead of the playout point one may be. */
  constructor(private readonly capacity: number, private readonly deliver: DeliverPacket) {
    this.mask = capacity - 1;
    this.patience = Math.max(1, capacity >> 2);
    this.held = new Float64Array(capacity).fill(EMPTY);
    this.handed = new Float64Array(capacity).fill(EMPTY);
    this.data = Array.from({ length: capacity }, () => new Uint8Array(0));
    this.size = new Uint32Array(capacity);
    this.ts = new Uint32Array(capacity);
    this.mark = new Uint8Array(capacity);
  }

  push(buf: Uint8Array, start: number, end: number, seq: number, timestamp: number, marker: boolean): void {
    if (!this.started) {
      this.started = true;
      this.next = this.highest = ORIGIN + seq;
    }
    // The 16-bit distance from the highest number seen, signed: wrap-around either way (RFC 3550 A.1).
    const ext = this.highest + (((seq - this.highest) << 16) >> 16);
    if (ext < this.next) {
      if (this.handed[ext & this.mask] === ext) this.stats.duplicates++;
      else this.stats.late++;
      return;
    }
    if (this.held[ext & this.mask] === ext) {
      this.stats.duplicates++;
      return;
    }
    if (ext > this.highest) this.highest = ext;
    else if (ext < this.highest) this.stats.reordered++;
    // Too far ahead to hold: what is older than the window is handed on, the holes in it lost.
    if (ext >= this.next + this.capacity) this.advanceTo(ext - this.capacity + 1);
    if (ext === this.next && this.count === 0) {
      this.handOn(buf, start, end, ext, timestamp, marker);
      return;
    }
    this.hold(buf, start, end, ext, timestamp, marker);
    this.drain();
  }

  /** Hands on everything held (the holes between counted lost); the next packet continues the sequence. */
  flush(): void {
    if (this.count > 0) this.advanceTo(this.highest + 1);
  }

  reset(): void {
    this.held.fill(EMPTY);
    this.handed.fill(EMPTY);
    this.started = false;
    this.count = 0;
    this.stats.reordered = this.stats.duplicates = this.stats.late = this.stats.lost = 0;
  }

  private handOn(buf: Uint8Array, start: number, end: number, ext: number, timestamp: number, marker: boolean): void {
    this.handed[ext & this.mask] = ext;
    this.next = ext + 1;
    this.deliver(buf, start, end, ext, timestamp, marker);
  }

  private hold(buf: Uint8Array, start: number, end: number, ext: number, timestamp: number, marker: boolean): void {
    const i = ext & this.mask;
    const n = end - start;
    if (this.data[i]!.length < n) this.data[i] = new Uint8Array(Math.max(n, 2048));
    this.data[i]!.set(buf.subarray(start, end));
    this.held[i] = ext;
    this.size[i] = n;
    this.ts[i] = timestamp;
    this.mark[i] = marker ? 1 : 0;
    this.count++;
  }

  private present(ext: number): boolean {
    return this.held[ext & this.mask] === ext;
  }

  /** Hands on the held packet at the playout point. */
  private release(): void {
    const i = this.next & this.mask;
    this.held[i] = EMPTY;
    this.count--;
    this.handOn(this.data[i]!, 0, this.size[i]!, this.next, this.ts[i]!, this.mark[i] === 1);
  }

  /** Hands on what is in order; while a hole is at the playout point, gives it up once waiting is futile. */
  private drain(): void {
    for (;;) {
      while (this.count > 0 && this.present(this.next)) this.release();
      if (this.count < this.patience || !this.laterUnitComplete()) return;
      let e = this.next;
      while (!this.present(e)) e++;
      this.stats.lost += e - this.next;
      this.next = e;
    }
  }

  /** Moves the playout point to `target`, handing on what is held below it and counting the holes. */
  private advanceTo(target: number): void {
    while (this.next < target && this.count > 0) {
      if (this.present(this.next)) this.release();
      else {
        this.stats.lost++;
        this.next++;
      }
    }
    if (this.next < target) {
      this.stats.lost += target - this.next;
      this.next = target;
    }
  }

  /**
   * Whether the held packets behind the hole at the playout point contain a whole access unit: one whose
   * predecessor is held and ends an AU (marker, or the timestamp changes) and whose packets are all held up
   * to its own end. A sender sends AUs in order, so the hole cannot be filled in time any more.
   */
  private laterUnitComplete(): boolean {
    let open = false;
    for (let e = this.next + 1; e <= this.highest; e++) {
      if (!this.present(e)) {
        open = false;
        continue;
      }
      if (!open) open = this.present(e - 1) && this.endsUnit(e - 1);
      if (open && this.endsUnit(e)) return true;
    }
    return false;
  }

  /** Held packet `ext` ends its access unit: marker bit, or the next one is held with another timestamp. */
  private endsUnit(ext: number): boolean {
    const i = ext & this.mask;
    if (this.mark[i] === 1) return true;
    return this.present(ext + 1) && this.ts[(ext + 1) & this.mask] !== this.ts[i];
  }
}
