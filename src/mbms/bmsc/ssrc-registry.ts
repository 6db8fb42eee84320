/**
 * Each sender of a service gets its own SSRC, registered in the store (issue 11: several BM-SC instances,
 * one sender each, all under the TEKs of one schedule). Why: the SRTP AES-CM IV is built from the session
 * salt, the SSRC and the packet index (RFC 3711 §4.1.1), so two senders under one TEK with distinct SSRCs
 * never produce the same keystream, while two with the same SSRC and overlapping indices make a two-time
 * pad (RFC 3711 §9.1: a keystream must never protect two packets). The alternative, a TEK per sender,
 * would need a schedule and an MKI per sender; the receivers would have to follow all of them.
 *
 * An SSRC is a store lease "ssrc/<service>/<ssrc hex>" (store/lease.ts): drawn at random
 * (crypto.getRandomValues) and re-drawn while another sender holds it, renewed every ttl/3, released on
 * stop. Its TTL is `holdMs`, which the caller sets to outlast every TEK the sender may have used — at least
 * the TEK_RAND2 period plus the schedule lease's TTL (a takeover can keep a TEK in force that much longer)
 * — so that a dead sender's SSRC is not handed to another sender while a TEK it used is still in force.
 * The first sequence number is random too (RFC 3550 §5.1), for a sender that restarts under the same SSRC.
 */
import { unrefTimer, type Clock } from "../../clock.js";
import { MbmsError } from "../errors.js";
import type { AsyncKeyStore } from "./store/index.js";

const random32 = (): number => globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;

/** A random first RTP sequence number (RFC 3550 §5.1). */
export const randomSequence = (): number => random32() & 0xffff;

const MAX_DRAWS = 16;

export class SsrcRegistration {
  readonly ssrc: number;
  readonly #store: AsyncKeyStore;
  readonly #clock: Clock;
  readonly #name: string;
  readonly #owner: string;
  readonly #holdMs: number;
  #timer: unknown;
  /** Renewals that failed (the registration stays until its TTL; a new sender may not reuse it before). */
  renewalFailures = 0;

  private constructor(store: AsyncKeyStore, clock: Clock, name: string, owner: string, ssrc: number, holdMs: number) {
    this.#store = store;
    this.#clock = clock;
    this.#name = name;
    this.#owner = owner;
    this.ssrc = ssrc;
    this.#holdMs = holdMs;
    this.#arm();
  }

  /** Draws and registers a random SSRC of `serviceId` for `owner` (re-drawn on conflict). */
  static async register(store: AsyncKeyStore, clock: Clock, serviceId: string, owner: string, holdMs: number): Promise<SsrcRegistration> {
    if (!Number.isSafeInteger(holdMs) || holdMs < 30) throw new MbmsError("ERR_ARGUMENT", "holdMs must be an integer of at least 30 ms");
    for (let i = 0; i < MAX_DRAWS; i++) {
      const ssrc = random32();
      const name = `ssrc/${serviceId}/${ssrc.toString(16).padStart(8, "0")}`;
      if ((await store.acquireLease(name, owner, holdMs, clock.now())).acquired) return new SsrcRegistration(store, clock, name, owner, ssrc, holdMs);
    }
    throw new MbmsError("ERR_DUPLICATE", `no free SSRC for service ${JSON.stringify(serviceId)} after ${MAX_DRAWS} draws`);
  }

  #arm(): void {
    this.#timer = this.#clock.setTimer(() => {
      this.#store.acquireLease(this.#name, this.#owner, this.#holdMs, this.#clock.now()).then(
        (l) => void (l.acquired || this.renewalFailures++), () => void this.renewalFailures++,
      ).finally(() => this.#timer !== undefined && this.#arm());
    }, Math.floor(this.#holdMs / 3));
    unrefTimer(this.#timer);
  }

  /** Stops renewing and releases the SSRC. Never rejects. */
  async release(): Promise<void> {
    if (this.#timer === undefined) return;
    this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    await this.#store.releaseLease(this.#name, this.#owner).catch(() => false);
  }
}
