/**
 * `mbms-srtp receive`: one UE. Listens on a UDP port (127.0.0.1, or a multicast group it joins, port shared
 * with SO_REUSEADDR), keys itself over HTTP from the BM-SC's key server (ME mode: the KEK in the ME; UICC
 * mode: in a soft card in a worker thread), decrypts through an MkiEvaluator and checks every packet.
 * SDES mode (--srtp-key-file): no key server; one fixed master key without MKI decrypts every packet.
 *
 * Counting: the receiver cannot know what was sent before it joined and keyed, so it counts from the
 * lowest packet number it decrypted once keyed and caught up with its socket (firstPacket; what it
 * decrypted before is `joinDelivered`, see UdpMbmsReceiver.start) to the highest (lastPacket); `lost` is the
 * gaps in that window. A caller that knows the sender's count N checks delivered === N - firstPacket.
 * The sender's SSRC is random (`send` registers one per sender): each SSRC is a stream of its own, learned
 * from its first authenticated packet (received-streams.ts); firstPacket and lastPacket are the first
 * stream's, `lost` the gaps of every stream, and `streams` lists them.
 */
import { UdpMbmsReceiver, type FixedKeying, type MikeyKeying, type PlainKeying } from "./udp-mbms-receiver.js";
import { statusLine, type ReceiverMode } from "./status.js";
import type { StreamReport } from "./received-streams.js";
import { RunWindow } from "./run-window.js";
import { CpuMeter, type CpuReport } from "./cpu-meter.js";
import type { UdpIo, UdpStats } from "../net/batch-udp.js";

export interface ReceiveOptions {
  group?: string;
  port: number;
  iface: string;
  /** MIKEY over HTTP from the key server at baseUrl (ME or UICC mode), one fixed SRTP key, no MKI (SDES mode),
   * or none: unprotected RTP from `send --plain` (PLAIN mode, a benchmark baseline). */
  keying: MikeyKeying | FixedKeying | PlainKeying;
  payloadSize: number;
  durationS: number;
  /** Forward each decrypted RTP packet (plain) here; packets are then counted by RTP sequence number. */
  rtpOut?: { host: string; port: number };
  /** Write each decrypted packet to this pcap file (packets are then counted by RTP sequence number). */
  pcapOut?: string;
  /** The socket's I/O (default: native when the addon is loaded). */
  io?: UdpIo;
  json: boolean;
  out: NodeJS.WriteStream;
  signal?: AbortSignal;
}

export interface ReceiveResult {
  ok: boolean;
  mode: ReceiverMode;
  /** Absent in SDES and PLAIN modes. */
  userId?: string;
  listen: string;
  durationS: number;
  interrupted: boolean;
  delivered: number;
  firstPacket: number;
  lastPacket: number;
  /** Gaps between firstPacket and lastPacket (of every stream). */
  lost: number;
  /** Each SSRC received (learned from its first authenticated packet) and its counts. */
  streams: StreamReport[];
  authFailed: number;
  replayed: number;
  badPackets: number;
  duplicates: number;
  /** Packets held for a key that never came in time (queue bounds), and refused as malformed. */
  queuedDropped: number;
  refused: number;
  switches: number;
  rekeys: number;
  keyErrors: number;
  /** Packets decrypted while joining, before counting started (see UdpMbmsReceiver.start). */
  joinDelivered: number;
  /** Process CPU time from keyed to the end (idle time costs none), per packet delivered. */
  cpu: CpuReport;
  /** The socket's counters: backend, datagrams and calls, errors per errno. */
  io: UdpStats;
}

const NAMES: Record<ReceiverMode, string> = { ME: "ue-me", UICC: "ue-uicc", SDES: "ue-sdes", PLAIN: "ue-plain" };

export async function runReceive(o: ReceiveOptions): Promise<ReceiveResult> {
  const k = o.keying;
  const r = await UdpMbmsReceiver.open({
    ...k, name: NAMES[k.mode], payloadSize: o.payloadSize,
    listen: { port: o.port, group: o.group, iface: o.iface }, rtpOut: o.rtpOut, pcapOut: o.pcapOut, io: o.io,
  });
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let interrupted = false;
  try {
    await r.start();
    const cpu = new CpuMeter();
    const t0 = Date.now();
    if (!o.json) {
      o.out.write(`receiving on ${o.group ?? "127.0.0.1"}:${r.port} (${k.mode})\n`);
      let prev = { at: t0, bytes: 0 };
      statusTimer = setInterval(() => {
        const now = Date.now();
        const mbps = ((r.deliveredBytes - prev.bytes) * 8) / 1e3 / Math.max(1, now - prev.at);
        prev = { at: now, bytes: r.deliveredBytes };
        o.out.write(statusLine(r.report(r.span, mbps)) + "\n");
      }, 1000);
    }
    const run = new RunWindow(o.durationS, o.signal);
    await run.done;
    interrupted = run.interrupted;
    if (statusTimer) clearInterval(statusTimer);
    await r.settled();
    const rep = r.report(r.span, 0);
    return {
      ok: r.delivered > 0 && rep.lost === 0 && rep.authFailed === 0 && r.badPackets === 0 && r.duplicates === 0,
      mode: k.mode, userId: "userId" in k ? k.userId : undefined, listen: `${o.group ?? "127.0.0.1"}:${r.port}`, durationS: (Date.now() - t0) / 1000, interrupted,
      delivered: r.delivered, firstPacket: r.firstPacket, lastPacket: r.lastPacket, lost: rep.lost, streams: r.streamReports(),
      authFailed: rep.authFailed, replayed: rep.replayed, badPackets: r.badPackets, duplicates: r.duplicates,
      queuedDropped: rep.queuedDropped, refused: rep.refused, switches: rep.switches, rekeys: rep.rekeys, keyErrors: rep.keyErrors, joinDelivered: r.joinDelivered, cpu: cpu.report(r.delivered),
      io: r.ioStats(),
    };
  } finally {
    if (statusTimer) clearInterval(statusTimer);
    await r.close().catch(() => undefined);
  }
}

export function receiveSummary(x: ReceiveResult): string {
  return `${x.mode} receiver${x.userId === undefined ? "" : ` ${x.userId}`} on ${x.listen}: delivered ${x.delivered} (packets ${x.firstPacket}..${x.lastPacket}), lost ${x.lost}, auth failures ${x.authFailed}, replays ${x.replayed}, key switches ${x.switches}, re-keys ${x.rekeys}${x.interrupted ? " (interrupted)" : ""}\n${x.ok ? "OK" : "FAILED"}`;
}
