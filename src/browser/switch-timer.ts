/**
 * Key-switch latency as a viewer sees it: from the first packet under a new MKI to the first packet
 * decrypted under it (MKI evaluation, TEK derivation — in the ME or on the card — key installation,
 * verification). The MKI sits between the payload and the tag (RFC 3711 §3.1), so the timer reads it at
 * a fixed distance from the packet's end once the service's MKI and tag lengths are known.
 *
 * Bounded: it remembers the arrival of the last 64 distinct MKIs (a flood of forged MKIs pushes real
 * ones out, so switches during a flood may go untimed) and the last 256 latencies.
 */
import { toHex } from "../mbms/http-protocol.js";
import type { SwitchLatency } from "./protocol.js";

const REMEMBERED_MKIS = 64;
const KEPT_LATENCIES = 256;

export class SwitchTimer {
  #mkiLength = 0;
  #tagLength = 0;
  #last = new Uint8Array(0);
  readonly #arrivals = new Map<string, number>();
  readonly #latencies: number[] = [];
  #count = 0;
  #lastMs = 0;
  #maxMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The service's MKI and authentication tag lengths (from its key message). */
  setLayout(mkiLength: number, tagLength: number): void {
    this.#mkiLength = mkiLength;
    this.#tagLength = tagLength;
    this.#last = new Uint8Array(mkiLength);
  }

  /** Every datagram as it arrives, before decryption. */
  observe(packet: Uint8Array, length = packet.length): void {
    const end = length - this.#tagLength;
    const start = end - this.#mkiLength;
    if (this.#mkiLength === 0 || start < 12) return;
    const last = this.#last;
    let same = true;
    for (let i = 0; i < last.length; i++) if (packet[start + i] !== last[i]) same = false;
    if (same) return;
    last.set(packet.subarray(start, end));
    const hex = toHex(last);
    if (this.#arrivals.has(hex)) return;
    if (this.#arrivals.size === REMEMBERED_MKIS) this.#arrivals.delete(this.#arrivals.keys().next().value!);
    this.#arrivals.set(hex, this.now());
  }

  /** The receiver's current MKI changed to `mkiHex` (a packet under it was just decrypted). */
  switched(mkiHex: string): void {
    const arrived = this.#arrivals.get(mkiHex);
    if (arrived === undefined) return;
    this.#arrivals.delete(mkiHex);
    const ms = this.now() - arrived;
    this.#count++;
    this.#lastMs = ms;
    this.#maxMs = Math.max(this.#maxMs, ms);
    if (this.#latencies.length === KEPT_LATENCIES) this.#latencies.shift();
    this.#latencies.push(ms);
  }

  get stats(): SwitchLatency {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const medianMs = sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!;
    return { count: this.#count, lastMs: this.#lastMs, medianMs, maxMs: this.#maxMs };
  }
}

