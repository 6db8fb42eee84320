/**
 * What an MkiEvaluator takes (mki-evaluator.ts): its options, their defaults and checks, the counters it
 * keeps and the outcomes it returns. The bounds are what a flood of forged MKIs costs a UE at most.
 */
import type { CryptoCore } from "../../wasm/core.js";
import type { WallClock } from "../../clock.js";
import type { SrtpProfileName } from "../../srtp/profiles.js";
import { MbmsError } from "../errors.js";
import type { MkiLayout } from "../key-hierarchy.js";
import type { TekSource } from "./tek-source.js";

/** Evaluator-level outcomes, returned negated by `receive` (beyond the negated SrtpStatus values). */
export enum EvaluatorStatus {
  /** Held until the TEK of its MKI is derived (or its TGK arrives). */
  Queued = 100,
  /** The MKI was derived recently and no packet under it authenticated: dropped without derivation. */
  ForgedMki = 101,
  /** The MKI belongs to a key retired after its grace period: dropped without derivation. */
  RetiredMki = 102,
  /** The evaluator is closed. */
  Closed = 103,
}

export interface MkiEvaluatorStats {
  /** Packets decrypted and passed to onPacket. */
  delivered: number;
  /** Packets under an installed key whose tag did not verify. */
  authFailed: number;
  /** Packets refused by the replay window (replayed or too old). */
  replayed: number;
  /** Other refusals (malformed, too short, key limit, …). */
  refused: number;
  /** TEK derivations started (calls into the TekSource). */
  derivations: number;
  /** Times a derivation was wanted but the rate limit refused it (once per packet while starved). */
  derivationsRefused: number;
  /** Derivations that failed (source error, or a TEK the context refused). */
  derivationErrors: number;
  /** Queued packets dropped (queue bounds, candidate eviction or expiry). */
  queuedDropped: number;
  /** Packets dropped because their MKI is negative-cached (forged) or retired. */
  untrustedDropped: number;
  /** Probation keys removed without any authentic packet (forged MKIs). */
  forgedKeys: number;
  /** Times the current key changed to another (the first key is not a switch). */
  switches: number;
  /** onUnknownTgk calls made. */
  unknownTgkNotified: number;
  /** The current MKI, hex; undefined before the first packet authenticates. */
  currentMki: string | undefined;
}

export interface MkiEvaluatorOptions {
  tekSource: TekSource;
  /** Called with every decrypted packet (see the module comment). */
  onPacket: (packet: Uint8Array) => void;
  /** A packet names a TGK-ID the source does not hold: re-key (e.g. KeyClient.rekeyNow). Rate-limited. */
  onUnknownTgk?: (tgkId: number) => void;
  /**
   * The SRTP profile and MKI layout to use until the TekSource knows the service's (from its key
   * messages); from then on the source's. Defaults: AES_CM_128_HMAC_SHA1_80, TGK-ID 4 ‖ TEK_RAND2 8 bytes.
   */
  profile?: SrtpProfileName;
  layout?: Partial<MkiLayout>;
  replayWindow?: number;
  core?: CryptoCore;
  /** Monotonic clock in ms (default performance.now). */
  now?: () => number;
  /** Token bucket for new derivations: rate per second (default 50) and burst (default 10). */
  derivationRate?: number;
  derivationBurst?: number;
  /** Concurrent derivations (default 4; a card source serialises them anyway). */
  maxInFlight?: number;
  /** Installed master keys, current and previous included (default 6, ≥ 3). */
  maxKeys?: number;
  /** Pending MKIs (candidates) held at once (default 64). */
  maxCandidates?: number;
  /** Packets queued across all pending MKIs (default 256) and per MKI (default 64); oldest dropped. */
  maxQueued?: number;
  maxQueuedPerMki?: number;
  /** Bytes queued across all pending MKIs (default 1 MiB). */
  maxQueuedBytes?: number;
  /** A pending MKI not seen for this long is dropped with its packets (default 5 s). */
  candidateTtlMs?: number;
  /** The TEK_RAND2 period of the service, if known: sets the default grace period to 2× it. */
  rotationPeriodMs?: number;
  /** How long the previous key stays for late packets (default 2 × rotationPeriodMs, else 30 s). */
  graceMs?: number;
  /** How long a derived key may go without an authentic packet (default 2 s). */
  probationMs?: number;
  /** How long a forged MKI stays negative-cached (default 60 s). */
  negativeTtlMs?: number;
  /** Entries in the LRU of recently retired / forged MKIs (default 1024). */
  recentLimit?: number;
  /** Packets an unknown-TGK MKI needs before onUnknownTgk (default 2), and the hook's interval (default 1 s). */
  unknownTgkMinPackets?: number;
  unknownTgkIntervalMs?: number;
  /** How far past the highest TGK-ID held an unknown one is plausible (default 2). */
  unknownTgkAhead?: number;
  /** No authentic packet for this long: the stream may have moved to a TGK the UE lacks (default 200 ms). */
  unknownTgkSilenceMs?: number;
  /** Wall clock for TGK expiries (default systemClock). */
  clock?: WallClock;
  /** Retries of a derivation the source failed (default 6), backoff from 50 ms doubling up to 2 s. */
  derivationRetries?: number;
}

/** Every counter at 0. */
export function zeroStats(): MkiEvaluatorStats {
  return {
    delivered: 0, authFailed: 0, replayed: 0, refused: 0, derivations: 0, derivationsRefused: 0, derivationErrors: 0,
    queuedDropped: 0, untrustedDropped: 0, forgedKeys: 0, switches: 0, unknownTgkNotified: 0, currentMki: undefined,
  };
}

/** The options' numbers, checked, with their defaults. */
export interface EvaluatorSettings {
  readonly derivationRate: number;
  readonly derivationBurst: number;
  readonly maxInFlight: number;
  readonly maxKeys: number;
  readonly maxCandidates: number;
  readonly maxQueued: number;
  readonly maxQueuedPerMki: number;
  readonly maxQueuedBytes: number;
  readonly candidateTtlMs: number;
  readonly graceMs: number;
  readonly probationMs: number;
  readonly negativeTtlMs: number;
  readonly recentLimit: number;
  readonly unknownTgkMinPackets: number;
  readonly unknownTgkIntervalMs: number;
  readonly unknownTgkAhead: number;
  readonly unknownTgkSilenceMs: number;
  readonly derivationRetries: number;
}

function positive(name: string, v: number, integer = true): number {
  if (!(v > 0) || (integer && !Number.isInteger(v)) || !Number.isFinite(v)) throw new MbmsError("ERR_ARGUMENT", `${name} must be a positive ${integer ? "integer" : "number"}`);
  return v;
}

function keyBound(maxKeys: number): number {
  if (maxKeys < 3) throw new MbmsError("ERR_ARGUMENT", "maxKeys must be ≥ 3 (current, previous and one new key)");
  return maxKeys;
}

/** ERR_ARGUMENT for a bound that is not a positive number (an integer where it counts). */
export function evaluatorSettings(o: MkiEvaluatorOptions): EvaluatorSettings {
  return {
    derivationRate: positive("derivationRate", o.derivationRate ?? 50, false),
    derivationBurst: positive("derivationBurst", o.derivationBurst ?? 10),
    maxInFlight: positive("maxInFlight", o.maxInFlight ?? 4),
    maxKeys: keyBound(positive("maxKeys", o.maxKeys ?? 6)),
    maxCandidates: positive("maxCandidates", o.maxCandidates ?? 64),
    maxQueued: positive("maxQueued", o.maxQueued ?? 256),
    maxQueuedPerMki: positive("maxQueuedPerMki", o.maxQueuedPerMki ?? 64),
    maxQueuedBytes: positive("maxQueuedBytes", o.maxQueuedBytes ?? 1 << 20),
    candidateTtlMs: positive("candidateTtlMs", o.candidateTtlMs ?? 5000, false),
    graceMs: positive("graceMs", o.graceMs ?? (o.rotationPeriodMs ? 2 * o.rotationPeriodMs : 30_000), false),
    probationMs: positive("probationMs", o.probationMs ?? 2000, false),
    negativeTtlMs: positive("negativeTtlMs", o.negativeTtlMs ?? 60_000, false),
    recentLimit: positive("recentLimit", o.recentLimit ?? 1024),
    unknownTgkMinPackets: positive("unknownTgkMinPackets", o.unknownTgkMinPackets ?? 2),
    unknownTgkIntervalMs: positive("unknownTgkIntervalMs", o.unknownTgkIntervalMs ?? 1000, false),
    unknownTgkAhead: positive("unknownTgkAhead", o.unknownTgkAhead ?? 2),
    unknownTgkSilenceMs: positive("unknownTgkSilenceMs", o.unknownTgkSilenceMs ?? 200, false),
    derivationRetries: positive("derivationRetries", o.derivationRetries ?? 6),
  };
}
