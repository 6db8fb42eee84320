/**
 * `mbms-srtp soak` (and `npm run soak`): the key lifecycle over many periods, in one process on 127.0.0.1.
 * A BM-SC (in-memory store, SessionManager, HTTP key server), one MbmsSender per service, and per service an
 * ME-based and a UICC-based UeReceiver (all services' UICC receivers over one soft card in a worker), fed
 * in memory every millisecond — no sockets between sender and receivers, so every packet is accounted for.
 * Optionally a stranger injects forged packets (`forgedPerPacket` per real packet): MKIs naming the next
 * TGK-IDs, random TGK-IDs, the real TGK-ID with a random TEK_RAND2, and the real MKI with a random tag.
 *
 * What `ok` checks is what the key lifecycle promises, not only that packets arrived:
 *   - each sender switched to every TEK the BM-SC announced (switches = announcements − 1, exactly: the
 *     first version stopped switching while the BM-SC went on), the BM-SC announced what its schedule said
 *     (missing at most 1 at the ends, plus 1 per 500 periods: a timer more than a period late starts the
 *     current period, by design — no stale TEK is announced), withheld nothing, held ≤ 2 keys, and never
 *     protected a packet under a TGK that had expired (checked here against the TEK announcements);
 *   - each receiver decrypted every packet, switched once per MKI the sender used, with the first packet
 *     under a new MKI decrypted within `maxSwitchDelayMs` (ME / UICC), ≤ 6 keys installed, no key request
 *     other than scheduled ones (no unknown-TGK re-key), and no authentication failure of a real packet;
 *   - key slots of the shared core back where they started, and the heap bounded.
 */
import { MbmsSender, MemoryKeyStore, SessionManager, createKeyServer, silentLogger } from "../mbms/bmsc/index.js";
import { UeReceiver, type UeReceiverStats } from "../mbms/ue/index.js";
import { spawnCardWorker } from "../mbms/uicc/card-worker.js";
import { defaultCore } from "../wasm/default-core.js";
import { buildMki, mkiLayout, splitMki, type MkiLayout, type TekDerivation } from "../mbms/key-hierarchy.js";
import { DEFAULT_PROFILE, SRTP_PROFILES, type SrtpProfileName } from "../srtp/profiles.js";
import { checkPacket, RTP_HEADER, SyntheticSource } from "./synthetic-source.js";

/** A service's own settings (issue 15's matrix: every profile × TGK length). */
export interface SoakService {
  profile?: SrtpProfileName;
  tgkLength?: 16 | 32;
  csId?: number;
}

export interface SoakOptions {
  durationMs: number;
  tekPeriodMs: number;
  tgkLifetimeMs: number;
  /** Services streamed at once (TGK-IDs are numbered per service, so they collide across services). */
  services?: number | SoakService[];
  /** The BM-SC's TEK derivation and MKI layout; receivers are not told (the key message carries them). */
  derivation?: TekDerivation;
  layout?: Partial<MkiLayout>;
  /** Real packets per second per service (default 2000). */
  packetsPerSecond?: number;
  payloadSize?: number;
  /** Forged packets injected per real packet (default 0). */
  forgedPerPacket?: number;
  /** Bounds on the delay from the first packet sent under a new MKI to its decryption (default 50 / 200 ms). */
  maxSwitchDelayMs?: { ME: number; UICC: number };
  /** A progress line every `progressMs` (default: none). */
  progress?: (line: string) => void;
  progressMs?: number;
  /** Aborting ends the run early (SIGINT); the checks still run over what was sent. */
  signal?: AbortSignal;
}

export interface SoakSenderReport {
  serviceId: string;
  profile: SrtpProfileName;
  packets: number;
  tekSwitches: number;
  tekSwitchesExpected: number;
  /** TGK-IDs used, in order (numbered per service: services' IDs collide by design). */
  tgkIds: number[];
  peakInstalledKeys: number;
  withheld: number;
  packetsUnderExpiredTgk: number;
  /** TEKs the manager announced, and the latest an announcement came after its period's start (BM-SC lateness). */
  announced: number;
  maxAnnounceLateMs: number;
}

export interface SoakReceiverReport {
  name: string;
  serviceId: string;
  mode: "ME" | "UICC";
  delivered: number;
  missing: number;
  switches: number;
  switchesExpected: number;
  maxSwitchDelayMs: number;
  peakInstalledKeys: number;
  peakQueuedBytes: number;
  keyRequests: number;
  unscheduledKeyRequests: number;
  authFailed: number;
  stats: UeReceiverStats;
}

export interface SoakReport {
  ok: boolean;
  failures: string[];
  durationMs: number;
  tekPeriodMs: number;
  tgkLifetimeMs: number;
  forgedPackets: number;
  senders: SoakSenderReport[];
  receivers: SoakReceiverReport[];
  heapMB: { start: number; peak: number; end: number };
  coreSlots: { free: number; minFree: number; freeAtEnd: number };
}

const SSRC = 0x50a50a50;
const MAX_RECEIVER_KEYS = 6;
const MB = 1 << 20;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Packet numbers seen, one bit each (a Set of millions of numbers would be the soak's own leak). */
class PacketSet {
  private bits = new Uint8Array(1 << 16);
  size = 0;
  /** True if `n` was not in the set. */
  add(n: number): boolean {
    if (n >> 3 >= this.bits.length) {
      const grown = new Uint8Array(Math.max(this.bits.length * 2, (n >> 3) + 1));
      grown.set(this.bits);
      this.bits = grown;
    }
    const bit = 1 << (n & 7);
    if (this.bits[n >> 3]! & bit) return false;
    this.bits[n >> 3]! |= bit;
    this.size++;
    return true;
  }
}

interface Stream {
  serviceId: string;
  profile: SrtpProfileName;
  /** Where the MKI sits: before the profile's tag (RFC 3711 §3.1). */
  mkiLength: number;
  tagLength: number;
  sender: MbmsSender;
  source: SyntheticSource;
  /** TGK-ID → expiry, from the manager's announcements (an oracle independent of the sender). */
  tgkExpiry: Map<number, number>;
  /** Packet number of the first packet sent under each MKI → when it was sent; the MKI of the last packet. */
  firstUnder: Map<number, number>;
  lastMki: Uint8Array;
  expiredTgkPackets: number;
  announced: number;
  maxAnnounceLateMs: number;
  receivers: SoakReceiver[];
}

interface SoakReceiver {
  name: string;
  mode: "ME" | "UICC";
  ue: UeReceiver;
  seen: PacketSet;
  /** The longest from sending the first packet under an MKI to its decryption, ms. */
  maxSwitchDelayMs: number;
  peakKeys: number;
  peakQueuedBytes: number;
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const services: SoakService[] = typeof o.services === "object" ? o.services : Array.from({ length: o.services ?? 1 }, () => ({}));
  const layout = mkiLayout(o.layout);
  const rate = o.packetsPerSecond ?? 2000;
  const payloadSize = o.payloadSize ?? 160;
  const forgedPer = o.forgedPerPacket ?? 0;
  const bounds = o.maxSwitchDelayMs ?? { ME: 50, UICC: 200 };
  const core = defaultCore();
  const slots = { free: core.aesPool.available, minFree: core.aesPool.available, freeAtEnd: 0 };
  const store = new MemoryKeyStore();
  const serviceIds = services.map((_, i) => `urn:mbms:soak:${i + 1}`);
  const manager = await SessionManager.create({
    store, logger: silentLogger, layout, ...(o.derivation ? { derivation: o.derivation } : {}),
    services: serviceIds.map((serviceId, i) => ({ ...services[i], serviceId, tekRand2PeriodMs: o.tekPeriodMs, tgkLifetimeMs: o.tgkLifetimeMs })),
  });
  // One ME and one UICC user on every service: each asks once per service and TGK, so the per-user rate scales.
  const server = createKeyServer({ manager, logger: silentLogger, rateLimit: { ratePerSec: 2 * services.length, burst: 5 * services.length } });
  // Users: one ME user and one UICC user for every service; the UICC user's KEK is only in the card worker.
  const meKek = globalThis.crypto.getRandomValues(new Uint8Array(16));
  await manager.addUser("sip:ue-me@soak.invalid", meKek);
  const cardKek = globalThis.crypto.getRandomValues(new Uint8Array(16));
  await manager.addUser("sip:ue-uicc@soak.invalid", cardKek);
  const card = spawnCardWorker(cardKek, { capacity: 8 * services.length });
  cardKek.fill(0);
  const streams: Stream[] = [];
  let pace: ReturnType<typeof setInterval> | undefined;
  let progressTimer: ReturnType<typeof setInterval> | undefined;
  let forged = 0;
  const heap = { start: 0, peak: 0, end: 0 };
  try {
    const { port } = await server.listen(0, "127.0.0.1");
    for (const [i, serviceId] of serviceIds.entries()) {
      const sender = new MbmsSender({ manager, serviceId });
      const profile = services[i]!.profile ?? DEFAULT_PROFILE;
      const s: Stream = {
        serviceId, profile, mkiLength: layout.tgkIdBytes + layout.randBytes, tagLength: SRTP_PROFILES[profile].srtpTagLength, sender, source: new SyntheticSource({ bitrate: rate * 8 * (RTP_HEADER + payloadSize), payloadSize, ssrc: SSRC }),
        tgkExpiry: new Map(), firstUnder: new Map(), lastMki: new Uint8Array(layout.tgkIdBytes + layout.randBytes), expiredTgkPackets: 0, announced: 0, maxAnnounceLateMs: 0, receivers: [],
      };
      manager.onTek((e) => {
        if (e.serviceId !== serviceId) return;
        s.tgkExpiry.set(e.tgkId, e.tgkExpiresAt);
        s.announced++;
        s.maxAnnounceLateMs = Math.max(s.maxAnnounceLateMs, Date.now() - e.startsAt);
      });
      streams.push(s);
    }
    const tuning = {
      keyClient: { expiryMarginMs: Math.max(5, o.tgkLifetimeMs / 20), minRekeyIntervalMs: Math.max(5, o.tgkLifetimeMs / 10), backoffBaseMs: 10, backoffMaxMs: 100, maxAttempts: 8 },
      // Key switches come every period: the derivation budget must cover them with room for a flood.
      evaluator: { derivationRate: Math.max(50, 4000 / o.tekPeriodMs), derivationBurst: 20, maxQueuedPerMki: 512, maxQueued: 2048, maxQueuedBytes: 4 * MB },
      tgkExpirySkewMs: o.tgkLifetimeMs,
    };
    for (const s of streams) {
      for (const mode of ["ME", "UICC"] as const) {
        const r: SoakReceiver = { name: `${mode.toLowerCase()}@${s.serviceId}`, mode, seen: new PacketSet(), maxSwitchDelayMs: 0, peakKeys: 0, peakQueuedBytes: 0, ue: undefined! };
        r.ue = new UeReceiver({
          ...tuning, baseUrl: `http://127.0.0.1:${port}`, serviceId: s.serviceId, userId: `sip:ue-${mode.toLowerCase()}@soak.invalid`,
          rotationPeriodMs: o.tekPeriodMs,
          keying: mode === "ME" ? { mode, kek: meKek } : { mode, card, closeCard: false },
          onPacket: (p) => {
            const n = checkPacket(p, payloadSize, SSRC);
            if (n < 0 || !r.seen.add(n)) return;
            const sentAt = s.firstUnder.get(n);
            if (sentAt !== undefined) r.maxSwitchDelayMs = Math.max(r.maxSwitchDelayMs, performance.now() - sentAt);
          },
        });
        s.receivers.push(r);
      }
    }
    await manager.start();
    for (const s of streams) await s.sender.start();
    for (const s of streams) for (const r of s.receivers) await r.ue.start();
    const t0 = performance.now();
    for (const s of streams) s.source.start(Date.now());
    heap.start = heap.peak = process.memoryUsage().heapUsed / MB;
    const buf = new Uint8Array(RTP_HEADER + payloadSize + 64);
    const copy = new Uint8Array(buf.length);
    const tick = () => {
      const now = Date.now();
      for (const s of streams) {
        for (let due = Math.min(s.source.due(now), 1000); due > 0; due--) {
          const n = s.source.write(buf);
          const srtpLen = s.sender.protect(buf, s.source.packetLength);
          if (srtpLen < 0) continue; // withheld: counted by the sender
          const mkiAt = srtpLen - s.tagLength - s.mkiLength;
          const mki = buf.subarray(mkiAt, mkiAt + s.mkiLength);
          if (!sameBytes(mki, s.lastMki)) {
            s.lastMki.set(mki);
            s.firstUnder.set(n, performance.now());
          }
          const expiry = s.tgkExpiry.get(splitMki(mki, layout).tgkId);
          if (expiry === undefined || now >= expiry) s.expiredTgkPackets++;
          for (const r of s.receivers) {
            copy.set(buf.subarray(0, srtpLen));
            r.ue.receive(copy, srtpLen);
            for (let k = 0; k < forgedPer; k++) {
              forgeInto(copy, buf, srtpLen, mkiAt, s.tagLength, layout, k);
              r.ue.receive(copy, srtpLen);
              forged++;
            }
          }
        }
        for (const r of s.receivers) {
          const st = r.ue.evaluator;
          r.peakKeys = Math.max(r.peakKeys, st.installedKeys);
          r.peakQueuedBytes = Math.max(r.peakQueuedBytes, st.queuedPacketBytes);
        }
      }
      slots.minFree = Math.min(slots.minFree, core.aesPool.available);
    };
    pace = setInterval(tick, 1);
    if (o.progress) {
      progressTimer = setInterval(() => {
        const h = process.memoryUsage().heapUsed / MB;
        heap.peak = Math.max(heap.peak, h);
        const s = streams[0]!;
        const rs = s.receivers.map((r) => `${r.mode} ${r.seen.size} pkts ${r.ue.stats.switches} sw ${r.ue.stats.keyClient.deliveries} keys`).join(", ");
        o.progress!(`soak t=${((performance.now() - t0) / 1000).toFixed(0)} s: sender ${s.sender.stats.packets} pkts ${s.sender.stats.tekSwitches} switches; ${rs}; heap ${h.toFixed(1)} MB`);
      }, o.progressMs ?? 10_000);
    }
    const heapSampler = setInterval(() => (heap.peak = Math.max(heap.peak, process.memoryUsage().heapUsed / MB)), 250);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, o.durationMs);
      o.signal?.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
    clearInterval(pace);
    pace = undefined;
    clearInterval(heapSampler);
    await manager.stop(); // the schedule ends with the stream: switches are counted up to here
    const endAt = Date.now();
    await sleep(100);
    for (const s of streams) for (const r of s.receivers) {
      r.ue.tick();
      await r.ue.settled();
    }
    heap.end = process.memoryUsage().heapUsed / MB;
    const report = buildReport(o, streams, endAt, bounds, forged, heap);
    for (const s of streams) {
      s.sender.close();
      for (const r of s.receivers) await r.ue.close();
    }
    await card.close();
    slots.freeAtEnd = core.aesPool.available;
    if (slots.freeAtEnd !== slots.free) report.failures.push(`core key slots: ${slots.free} free at start, ${slots.freeAtEnd} at the end`);
    report.coreSlots = slots;
    report.ok = report.failures.length === 0;
    return report;
  } finally {
    if (pace) clearInterval(pace);
    if (progressTimer) clearInterval(progressTimer);
    await manager.stop();
    await server.close().catch(() => undefined);
    await card.close();
    meKek.fill(0);
    store.close();
  }
}

export function soakSummary(r: SoakReport): string {
  const lines = [`mbms-srtp soak: ${(r.durationMs / 1000).toFixed(0)} s, TEK_RAND2 every ${r.tekPeriodMs} ms, TGK lifetime ${r.tgkLifetimeMs} ms, ${r.forgedPackets} forged packets`];
  for (const s of r.senders) {
    lines.push(`sender ${s.serviceId}: ${s.packets} packets, ${s.tekSwitches} TEK switches (schedule ${s.tekSwitchesExpected}), ${s.tgkIds.length} TGKs, ≤ ${s.peakInstalledKeys} keys, ${s.withheld} withheld, ${s.packetsUnderExpiredTgk} under an expired TGK`);
  }
  for (const x of r.receivers) {
    lines.push(`${x.name}: ${x.delivered} decrypted (${x.missing} missing), ${x.switches} switches (${x.switchesExpected} expected), slowest switch ${x.maxSwitchDelayMs} ms, ≤ ${x.peakInstalledKeys} keys, ≤ ${(x.peakQueuedBytes / 1024).toFixed(0)} KiB queued, ${x.keyRequests} key requests (${x.unscheduledKeyRequests} unscheduled)`);
  }
  lines.push(`heap ${r.heapMB.start} MB at start, peak ${r.heapMB.peak} MB, ${r.heapMB.end} MB at the end; core key slots free ${r.coreSlots.free} → min ${r.coreSlots.minFree} → ${r.coreSlots.freeAtEnd}`);
  lines.push(r.ok ? "OK: rotation on schedule, every packet decrypted, keys and slots bounded" : `FAILED: ${r.failures.join("; ")}`);
  return lines.join("\n");
}

/** A forged packet of the same length as `real`, kind by `k`: see the module comment. */
function forgeInto(out: Uint8Array, real: Uint8Array, len: number, mkiAt: number, tagLength: number, layout: MkiLayout, k: number): void {
  out.set(real.subarray(0, len));
  const mkiLength = layout.tgkIdBytes + layout.randBytes;
  const rnd = globalThis.crypto.getRandomValues(new Uint8Array(mkiLength));
  out[2] = rnd[0]!; // another sequence number
  out[3] = rnd[1]!;
  const { tgkId } = splitMki(out.subarray(mkiAt, mkiAt + mkiLength), layout);
  const tgkIdSpace = 2 ** (8 * layout.tgkIdBytes);
  const randomPart = rnd.subarray(layout.tgkIdBytes);
  switch (k % 5) {
    case 0: out.set(buildMki((tgkId + 1) % tgkIdSpace, randomPart, layout), mkiAt); break; // the next TGK-ID
    case 1: out.set(buildMki((tgkId + 2) % tgkIdSpace, randomPart, layout), mkiAt); break;
    case 2: out.set(rnd, mkiAt); break; // a random MKI
    case 3: out.set(randomPart, mkiAt + layout.tgkIdBytes); break; // the real TGK-ID, a random TEK_RAND2
    default: break; // the real MKI
  }
  out.set(globalThis.crypto.getRandomValues(new Uint8Array(tagLength)), len - tagLength); // a random tag
}

function buildReport(o: SoakOptions, streams: Stream[], endAt: number, bounds: { ME: number; UICC: number }, forged: number, heap: SoakReport["heapMB"]): SoakReport {
  const failures: string[] = [];
  const senders = streams.map((s): SoakSenderReport => {
    const st = s.sender.stats;
    const check = s.sender.scheduleCheck(endAt);
    const r = {
      serviceId: s.serviceId, profile: s.profile, packets: st.packets, tekSwitches: st.tekSwitches, tekSwitchesExpected: check.expected, tgkIds: [...s.tgkExpiry.keys()],
      peakInstalledKeys: st.peakInstalledKeys, withheld: st.withheld, packetsUnderExpiredTgk: s.expiredTgkPackets,
      announced: s.announced, maxAnnounceLateMs: s.maxAnnounceLateMs,
    };
    // TEKs the schedule promised that were never announced (the first TEK is no switch).
    const missing = check.expected + 1 - r.announced;
    if (r.tekSwitches !== r.announced - 1 || missing < -1 || missing > 1 + Math.floor(check.expected / 500)) {
      failures.push(`${s.serviceId}: sender switched ${r.tekSwitches} times, the schedule ${r.tekSwitchesExpected} (the BM-SC announced ${r.announced} TEKs, up to ${r.maxAnnounceLateMs} ms late)`);
    }
    if (r.withheld > 0) failures.push(`${s.serviceId}: sender withheld ${r.withheld} packets`);
    if (r.packetsUnderExpiredTgk > 0) failures.push(`${s.serviceId}: ${r.packetsUnderExpiredTgk} packets under an expired TGK`);
    if (r.peakInstalledKeys > 2) failures.push(`${s.serviceId}: sender held ${r.peakInstalledKeys} keys`);
    return r;
  });
  const receivers = streams.flatMap((s) => s.receivers.map((r): SoakReceiverReport => {
    const st = r.ue.stats;
    const sent = s.sender.stats.packets;
    const maxDelay = r.maxSwitchDelayMs;
    const rep: SoakReceiverReport = {
      name: r.name, serviceId: s.serviceId, mode: r.mode, delivered: r.seen.size, missing: sent - r.seen.size, switches: st.switches,
      switchesExpected: s.firstUnder.size - 1, maxSwitchDelayMs: Math.round(maxDelay * 10) / 10, peakInstalledKeys: r.peakKeys,
      peakQueuedBytes: r.peakQueuedBytes, keyRequests: st.keyClient.requests, unscheduledKeyRequests: st.keyClient.rekeyNowCalls,
      authFailed: st.authFailed, stats: st,
    };
    if (rep.missing !== 0) failures.push(`${r.name}: ${rep.missing} of ${sent} packets not decrypted`);
    if (rep.switches !== rep.switchesExpected) failures.push(`${r.name}: ${rep.switches} switches, the sender used ${rep.switchesExpected + 1} MKIs`);
    if (!(maxDelay <= bounds[r.mode])) failures.push(`${r.name}: a key switch took ${rep.maxSwitchDelayMs} ms (bound ${bounds[r.mode]} ms)`);
    if (rep.peakInstalledKeys > MAX_RECEIVER_KEYS) failures.push(`${r.name}: ${rep.peakInstalledKeys} keys installed`);
    if (rep.unscheduledKeyRequests > 0) failures.push(`${r.name}: ${rep.unscheduledKeyRequests} unscheduled key requests`);
    if ((o.forgedPerPacket ?? 0) === 0 && rep.authFailed > 0) failures.push(`${r.name}: ${rep.authFailed} authentication failures`);
    return rep;
  }));
  return {
    ok: failures.length === 0, failures, durationMs: o.durationMs, tekPeriodMs: o.tekPeriodMs, tgkLifetimeMs: o.tgkLifetimeMs, forgedPackets: forged,
    senders, receivers, heapMB: { start: round(heap.start), peak: round(heap.peak), end: round(heap.end) }, coreSlots: { free: 0, minFree: 0, freeAtEnd: 0 },
  };
}

const round = (x: number) => Math.round(x * 10) / 10;
