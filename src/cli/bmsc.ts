/**
 * `mbms-srtp send` and `mbms-srtp keyserver`: the BM-SC as one process. A key store (in memory, an SQLite
 * file or a PostgreSQL database with --store: store-option.ts), a SessionManager for the services of a
 * JSON config file, and the HTTP key server; `send` also runs an SRTP sender with the synthetic RTP
 * source, keyed from the manager's TEK events, to a UDP destination (unicast, or a multicast group with
 * TTL and outgoing interface). `keyserver` runs the same BM-SC without sending. `send --srtp-key-file` is
 * the sender alone, keyed with one fixed master key and no MKI (SDES style, for players such as ffmpeg):
 * no session manager, no key server.
 *
 * Several instances on one store (PostgreSQL): with `leaseMs` each service's schedule is run by the holder
 * of its store lease (schedule-lease.ts), the others announce what the store holds. Every sender of the
 * synthetic source takes a random SSRC registered for its service (ssrc-registry.ts) and a random first
 * sequence number, and sends under the TEK in force: two senders under one TEK then never share an SSRC,
 * hence never a keystream (RFC 3711 §9.1). With --rtp-in the input's SSRC is kept (not registered), so
 * the sender starts a fresh TEK_RAND2 period instead (rotateTekNow): only the schedule's owner may.
 *
 * Config file (KEKs in hex, 16 or 32 bytes):
 *   { "services": [{ "serviceId": "urn:mbms:demo:1", "tekRand2PeriodMs": 1000, "tgkLifetimeMs": 4000 }],
 *     "users": [{ "userId": "sip:ue-me@demo.invalid", "kek": "00112233…", "services": ["urn:mbms:demo:1"] }] }
 * A user's "services" lists what it is subscribed to (gets keys for); absent: every service of the file.
 * The file is the truth about users: at every start the store's users are reconciled with it
 * (SessionManager.reconcileUsers: new KEKs take effect, users no longer listed are disabled, not deleted).
 */
import dgram from "node:dgram";
import { openBatchUdp, type BatchUdpSocket, type UdpIo, type UdpStats } from "../net/batch-udp.js";
import { readJsonObject } from "./options.js";
import {
  DEFAULT_LEASE_TTL_MS, MbmsSender, SessionManager, SsrcRegistration, createKeyServer, randomSequence, silentLogger,
  type AsyncKeyStore, type ConfiguredUser, type KeyStore, type ServiceConfig,
} from "../mbms/bmsc/index.js";
import { MbmsError } from "../mbms/errors.js";
import { openStoreTarget, storeTarget, type StoreTarget } from "./store-option.js";
import { Sender } from "./sender.js";
import { senderFailures, senderLine, type SenderReport } from "./status.js";
import { SyntheticSource } from "./synthetic-source.js";
import { RunWindow } from "./run-window.js";
import { isMulticast } from "./address.js";
import type { SrtpKey } from "./srtp-key.js";
import { bindUdpReceiver } from "../net/udp-receiver.js";
import type { TekDerivation } from "../mbms/key-hierarchy.js";
import { CpuMeter, type CpuReport } from "./cpu-meter.js";

export interface BmscConfig {
  services: ServiceConfig[];
  users: ConfiguredUser[];
}

export class ConfigError extends Error {}

export function parseHexKek(s: unknown, what: string): Uint8Array {
  if (typeof s !== "string" || !/^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/.test(s)) throw new ConfigError(`${what}: expected 32 or 64 hex digits`);
  return Uint8Array.from(Buffer.from(s, "hex"));
}

export function loadConfig(path: string): BmscConfig {
  // readJsonObject: a JSON.parse message would quote the file (and the KEKs in it).
  const o = readJsonObject(path) as { services?: unknown; users?: unknown };
  if (!Array.isArray(o.services) || o.services.length === 0) throw new ConfigError(`${path}: "services" must be a non-empty array`);
  if (!Array.isArray(o.users)) throw new ConfigError(`${path}: "users" must be an array`);
  const services = o.services.map((s: unknown, i) => {
    const x = s as ServiceConfig;
    if (!x || typeof x.serviceId !== "string" || x.serviceId === "") throw new ConfigError(`${path}: services[${i}].serviceId must be a string`);
    return { ...x };
  });
  const serviceIds = new Set(services.map((s) => s.serviceId));
  const users = o.users.map((u: unknown, i): ConfiguredUser => {
    const x = u as { userId?: unknown; kek?: unknown; services?: unknown };
    if (!x || typeof x.userId !== "string" || x.userId === "") throw new ConfigError(`${path}: users[${i}].userId must be a string`);
    if (x.services !== undefined && (!Array.isArray(x.services) || !x.services.every((id) => typeof id === "string" && serviceIds.has(id)))) {
      throw new ConfigError(`${path}: users[${i}].services must be an array of the file's service ids`);
    }
    const kek = parseHexKek(x.kek, `${path}: users[${i}].kek`);
    return x.services === undefined ? { userId: x.userId, kek } : { userId: x.userId, kek, services: x.services as string[] };
  });
  return { services, users };
}

export interface BmscOptions {
  /** Services and users of the MIKEY key server; absent when `send.srtpKey` keys the sender (no key server then). */
  config?: BmscConfig;
  /** The key store of the MIKEY key server (store-option.ts); default in memory. */
  store?: StoreTarget;
  /** The BM-SC's TEK derivation (default Alternative 1); the key messages tell the receivers. */
  derivation?: TekDerivation;
  keyPort: number;
  keyHost: string;
  /** Several instances on one store: the schedule lease's time, ms (schedule-lease.ts); absent: this instance runs every schedule. */
  leaseMs?: number;
  /** Web origins whose pages may call the key server (CORS); default none. */
  corsOrigins?: readonly string[];
  /** Absent: key server only. */
  send?: {
    host: string;
    port: number;
    /** The service whose TEKs (from the session manager) key the sender; absent with srtpKey. */
    serviceId?: string;
    /** One fixed master key, no MKI (SDES style, RFC 4568): no session manager, no key server, no --config. */
    srtpKey?: SrtpKey;
    bitrate: number;
    payloadSize: number;
    multicastTtl: number;
    multicastInterface: string;
    /** Read RTP datagrams from this UDP address and protect + send each one (instead of the synthetic source). */
    rtpIn?: { host: string; port: number };
    /** With rtpIn: stop once no datagram arrived for this long (after the first). Default 2000. */
    idleTimeoutMs?: number;
    /** Send RTP unprotected: a baseline for line-rate benchmarks (same pacing and socket path, no SRTP). */
    plain?: boolean;
    /** Protect the synthetic source's packets in this many crypto worker threads (0 or absent: in this thread). */
    cryptoWorkers?: number;
    /** The sending socket's I/O (default: native when the addon is loaded, see src/net/batch-udp.ts). */
    io?: UdpIo;
  };
  /** Seconds; Infinity: until the signal aborts. */
  durationS: number;
  json: boolean;
  out: NodeJS.WriteStream;
  signal?: AbortSignal;
}

export interface BmscResult {
  /** The sender's keys followed the schedule: switches as the schedule said (±1), no failed install, nothing withheld. */
  ok: boolean;
  failures: string[];
  /** Absent with a fixed SRTP key. */
  keyServer?: { url: string; requests: number; errors: number; derivation: TekDerivation; /** The store's kind and place, no password. */ store: string };
  /** The schedule: the lease (absent: off), whether this instance owned the sender's service's at the end, TEK_RAND2 values it stored. */
  schedule?: { leaseMs?: number; instance?: string; owner: boolean; rotations: number };
  sender?: SenderReport & { dest: string; serviceId?: string; /** The synthetic source's registered SSRC and first sequence number. */ ssrc?: number; firstSeq?: number; plain: boolean; /** Crypto worker threads (0: in-thread SRTP). */ cryptoWorkers: number; cpu: CpuReport; io: UdpStats; rtpIn?: { listen: string; received: number; droppedUnkeyed: number; invalid: number; idleStop: boolean } };
  durationS: number;
  interrupted: boolean;
}

export async function runBmsc(o: BmscOptions): Promise<BmscResult> {
  if (!o.config && !o.send?.srtpKey) throw new ConfigError("a config (MIKEY key server) or a fixed SRTP key is needed");
  const target = o.store ?? storeTarget(undefined);
  let store: KeyStore | AsyncKeyStore | undefined;
  const ks = { requests: 0, errors: 0 };
  let manager: SessionManager | undefined;
  let server: ReturnType<typeof createKeyServer> | undefined;
  let sock: BatchUdpSocket | undefined;
  let inSock: dgram.Socket | undefined;
  const rtpIn = { received: 0, invalid: 0, idleStop: false, lastAt: 0, firstAt: 0 };
  let idleTimer: ReturnType<typeof setInterval> | undefined;
  let idleStop: () => void = () => undefined;
  let sender: Sender | undefined;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let interrupted = false;
  let mbms: MbmsSender | undefined;
  let ssrc: SsrcRegistration | undefined;
  let firstSeq: number | undefined;
  let url: string | undefined;
  try {
    if (o.config) store = await openStoreTarget(target);
    if (o.config && store) {
      manager = await SessionManager.create({
        store, logger: silentLogger, services: o.config.services, ...(o.derivation ? { derivation: o.derivation } : {}), ...(o.leaseMs ? { lease: { ttlMs: o.leaseMs } } : {}),
      });
      // Before serving: a stored KEK or user the config changed or dropped must not answer one request.
      await manager.reconcileUsers(o.config.users);
      server = createKeyServer({
        manager, logger: silentLogger, corsOrigins: o.corsOrigins,
        onRequest: (r) => {
          ks.requests++;
          if (r.status >= 400) ks.errors++; // a CORS preflight (204) is not one
        },
      });
      const addr = await server.listen(o.keyPort, o.keyHost);
      url = `http://${o.keyHost}:${addr.port}`;
      // First line, so a caller (or a test) knows where to key: printed before anything is sent.
      o.out.write(`key server ${url}\n`);
    }

    if (o.send) {
      const s = o.send;
      if (manager && !manager.serviceIds.includes(s.serviceId ?? "")) throw new ConfigError(`service ${JSON.stringify(s.serviceId)} is not in the config`);
      const udp = await openBatchUdp({ host: s.multicastInterface, port: 0, io: s.io });
      sock = udp;
      if (isMulticast(s.host)) {
        udp.setMulticastTTL(s.multicastTtl);
        udp.setMulticastInterface(s.multicastInterface);
        udp.setMulticastLoopback(true);
      }
      let source: SyntheticSource | undefined;
      if (!s.rtpIn) {
        if (!manager) throw new ConfigError("a fixed SRTP key needs rtpIn (the synthetic source is keyed by the session manager)");
        // Held past the last TEK this sender may use: a period plus a takeover of the schedule (ssrc-registry.ts).
        const holdMs = manager.schedule(s.serviceId!).tekRand2PeriodMs + 2 * (o.leaseMs ?? DEFAULT_LEASE_TTL_MS);
        ssrc = await SsrcRegistration.register(manager.store, manager.clock, s.serviceId!, manager.instanceName ?? randomName(), holdMs);
        firstSeq = randomSequence(); // RFC 3550 §5.1; late joiners get the ROC from the key message
        source = new SyntheticSource({ bitrate: s.bitrate, payloadSize: s.payloadSize, ssrc: ssrc.ssrc, firstSeq });
      }
      const snd = new Sender(udp, source, [{ port: s.port, host: s.host }], s.plain === true);
      sender = snd;
      if (s.rtpIn) {
        const inp = await bindUdpReceiver(s.rtpIn);
        inSock = inp;
        inp.on("message", (msg: Buffer) => {
          rtpIn.received++;
          rtpIn.lastAt = Date.now();
          if (rtpIn.firstAt === 0) rtpIn.firstAt = rtpIn.lastAt;
          // RTP version 2 with at least a fixed header; anything else (e.g. stray RTCP) is not forwarded.
          if (msg.length < 12 || msg[0]! >> 6 !== 2 || (msg[1]! >= 200 && msg[1]! <= 204)) {
            rtpIn.invalid++;
            return;
          }
          try {
            snd.forward(msg);
          } catch {
            rtpIn.invalid++;
          }
        });
        const idleMs = s.idleTimeoutMs ?? 2000;
        idleTimer = setInterval(() => {
          if (rtpIn.lastAt > 0 && Date.now() - rtpIn.lastAt >= idleMs) {
            rtpIn.idleStop = true;
            idleStop();
          }
        }, Math.max(10, Math.min(250, idleMs / 4)));
      }
      if (manager) {
        const keyMirror = s.cryptoWorkers ? snd.usePool(s.cryptoWorkers) : undefined;
        mbms = new MbmsSender({ manager, serviceId: s.serviceId!, ...(ssrc ? { ssrc } : {}), ...(keyMirror ? { keyMirror, streams: keyMirror.streams } : {}) });
        snd.useMbms(mbms);
      }
      if (s.srtpKey) {
        snd.useKey(s.srtpKey);
        // First line (as "key server" with MIKEY): the sockets are bound, packets are protected from now on.
        o.out.write(`sending to ${s.host}:${s.port} (fixed SRTP key, ${s.srtpKey.profile}, no MKI)\n`);
      }
    }
    await manager?.start();
    // Without a registered SSRC (--rtp-in), a TEK resumed from the store (a restart inside its period) has
    // protected packets with the indices this sender starts from again (RFC 3711 §9.1): a fresh one now.
    // With one, the TEK in force — once the schedule's owner has stored one (another instance, starting too).
    if (mbms) await startSender(mbms, (o.leaseMs ?? 0) * 3 + manager!.schedule(mbms.serviceId).tekRand2PeriodMs);
    sender?.start();
    const cpu = new CpuMeter();
    const t0 = Date.now();
    if (sender && !o.json) {
      let prev = { at: t0, bytes: 0 };
      statusTimer = setInterval(() => {
        const now = Date.now();
        const snd = sender!;
        const mbps = ((snd.bytes - prev.bytes) * 8) / 1e3 / Math.max(1, now - prev.at);
        prev = { at: now, bytes: snd.bytes };
        o.out.write(senderLine({ packets: snd.packets, bytes: snd.bytes, mbps, tekSwitches: snd.tekSwitches }, (now - t0) / 1000) + "\n");
        for (const f of senderFailures(snd.report(now - t0))) o.out.write(`WARNING ${f}\n`);
      }, 1000);
    }
    const run = new RunWindow(o.durationS, o.signal);
    idleStop = () => run.end();
    await run.done;
    interrupted = run.interrupted;
    const runMs = Date.now() - t0;
    sender?.stop();
    const result: BmscResult = { ok: true, failures: [], keyServer: url === undefined || !manager ? undefined : { url, ...ks, derivation: manager.derivation, store: target.label }, durationS: runMs / 1000, interrupted };
    if (manager) {
      const id = o.send?.serviceId ?? manager.serviceIds[0]!;
      result.schedule = { ...(o.leaseMs ? { leaseMs: o.leaseMs, instance: manager.instanceName } : {}), owner: manager.ownsSchedule(id), rotations: manager.tekRotations };
    }
    if (sender && o.send) {
      result.sender = {
        // With --rtp-in: over the input's span (first to last datagram), not the whole run.
        ...sender.report(o.send?.rtpIn && rtpIn.firstAt > 0 ? rtpIn.lastAt - rtpIn.firstAt : runMs),
        dest: `${o.send.host}:${o.send.port}`, serviceId: o.send.serviceId, ...(ssrc ? { ssrc: ssrc.ssrc, firstSeq } : {}), plain: o.send.plain === true,
        cryptoWorkers: o.send.cryptoWorkers ?? 0,
        // The whole process (key server included) over the sending window.
        cpu: cpu.report(sender.packets),
        io: sock!.stats(),
      };
      if (o.send.rtpIn) {
        result.sender.rtpIn = {
          listen: `${o.send.rtpIn.host}:${o.send.rtpIn.port}`, received: rtpIn.received, droppedUnkeyed: sender.droppedUnkeyed,
          invalid: rtpIn.invalid, idleStop: rtpIn.idleStop,
        };
      }
    }
    result.failures = result.sender ? senderFailures(result.sender) : [];
    result.ok = result.failures.length === 0;
    return result;
  } finally {
    if (statusTimer) clearInterval(statusTimer);
    if (idleTimer) clearInterval(idleTimer);
    if (inSock) await new Promise<void>((r) => inSock!.close(() => r()));
    sender?.stop();
    await manager?.stop();
    await server?.close().catch(() => undefined);
    sock?.close();
    await sender?.close(); // and the MbmsSender it was given, and the crypto workers
    await ssrc?.release();
    await store?.close();
  }
}

const randomName = (): string => `send-${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(8))).toString("hex")}`;

/**
 * MbmsSender.start, retried while the store holds no TEK yet (ERR_NOT_FOUND: the schedule's owner, another
 * instance starting too, has not stored one) for up to `waitMs`.
 */
async function startSender(mbms: MbmsSender, waitMs: number): Promise<void> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return await mbms.start();
    } catch (e) {
      if (!(e instanceof MbmsError && e.code === "ERR_NOT_FOUND") || Date.now() >= until) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export function bmscSummary(r: BmscResult): string {
  const k = r.keyServer;
  const head = k ? `key server ${k.url} (store ${k.store}): ${k.requests} requests (${k.errors} errors)` : "no key server (fixed SRTP key, no MKI)";
  const lines = [`${head}, ${r.durationS.toFixed(1)} s${r.interrupted ? " (interrupted)" : ""}`];
  const sc = r.schedule;
  if (sc) lines.push(`schedule: ${sc.leaseMs ? `lease ${sc.leaseMs} ms as ${sc.instance}, ${sc.owner ? "the owner" : "not the owner"} at the end` : "no lease (this instance runs it)"}, ${sc.rotations} TEK_RAND2 rotations stored`);
  const x = r.sender?.rtpIn;
  if (r.sender && x) {
    lines.push(`sender to ${r.sender.dest}: ${r.sender.packets} RTP packets from ${x.listen} (${x.received} received, ${x.droppedUnkeyed} before keying, ${x.invalid} invalid), ${r.sender.mbps.toFixed(1)} Mbit/s, ${r.sender.tekSwitches} TEK switches${x.idleStop ? ", stopped: input idle" : ""}`);
  } else if (r.sender) lines.push(`sender to ${r.sender.dest}: ${r.sender.packets} packets (numbers 0..${r.sender.packets - 1}${r.sender.ssrc === undefined ? "" : `, SSRC 0x${r.sender.ssrc.toString(16).padStart(8, "0")}`}), ${r.sender.mbps.toFixed(1)} Mbit/s, ${r.sender.tekSwitches} TEK switches`);
  if (!r.ok) lines.push(`FAILED: ${r.failures.join("; ")}`);
  return lines.join("\n");
}
