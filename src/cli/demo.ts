/**
 * `mbms-srtp demo`: a BM-SC (in-memory key store, SessionManager, HTTP key server on 127.0.0.1:0), an SRTP
 * sender with a synthetic RTP source, and two receivers (one ME-based, one UICC-based with its card in a
 * worker thread), all in this process, over UDP unicast on 127.0.0.1. Each receiver keys itself over
 * HTTP and decrypts through an MkiEvaluator; TEK_RAND2 changes every period and the TGK expires during
 * the run, so the receivers switch keys and re-key by themselves. As `send`, the sender takes a random SSRC
 * registered for the service (ssrc-registry.ts), which the receivers learn; its sequence starts at 0
 * (synthetic-source.ts says why).
 */
import { openBatchUdp, type BatchUdpSocket } from "../net/batch-udp.js";
import { MbmsSender, MemoryKeyStore, SessionManager, SsrcRegistration, createKeyServer, silentLogger } from "../mbms/bmsc/index.js";
import { UdpMbmsReceiver } from "./udp-mbms-receiver.js";
import { LiveStatus, senderFailures, senderLine, statusLine, type ReceiverReport, type SenderReport } from "./status.js";
import { SyntheticSource } from "./synthetic-source.js";
import { RunWindow } from "./run-window.js";
import { Sender } from "./sender.js";
import { DEFAULT_PROFILE, type SrtpProfileName } from "../srtp/profiles.js";
import type { TekDerivation } from "../mbms/key-hierarchy.js";

export interface DemoOptions {
  bitrate: number;
  payloadSize: number;
  durationS: number;
  tekPeriodMs: number;
  tgkLifetimeMs: number;
  /** The service's SRTP profile (default AES_CM_128_HMAC_SHA1_80). */
  profile?: SrtpProfileName;
  /** The BM-SC's TEK derivation (default "alt1"); the receivers learn it from the key message. */
  derivation?: TekDerivation;
  /** No status output (the caller prints the result as JSON). */
  quiet: boolean;
  out: NodeJS.WriteStream;
  /** Aborting ends the run early (SIGINT or SIGTERM); the summary still follows. */
  signal?: AbortSignal;
}

export interface DemoResult {
  ok: boolean;
  failures: string[];
  interrupted: boolean;
  durationS: number;
  bitrate: number;
  payloadSize: number;
  tekPeriodMs: number;
  tgkLifetimeMs: number;
  profile: SrtpProfileName;
  derivation: TekDerivation;
  sender: SenderReport;
  receivers: ReceiverReport[];
  keyServer: { requests: number; errors: number };
}

const SERVICE = "urn:mbms:demo:1";
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const randomKek = () => globalThis.crypto.getRandomValues(new Uint8Array(16));

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const store = new MemoryKeyStore();
  const profile = o.profile ?? DEFAULT_PROFILE;
  const ks = { requests: 0, errors: 0 };
  const derivation = o.derivation ?? "alt1";
  const manager = await SessionManager.create({
    store, logger: silentLogger, derivation,
    services: [{ serviceId: SERVICE, profile, tgkLifetimeMs: o.tgkLifetimeMs, tekRand2PeriodMs: o.tekPeriodMs }],
  });
  const server = createKeyServer({
    manager, logger: silentLogger,
    onRequest: (r) => {
      ks.requests++;
      if (r.status !== 200) ks.errors++;
    },
  });
  const receivers: UdpMbmsReceiver[] = [];
  let sock: BatchUdpSocket | undefined;
  let sender: Sender | undefined;
  let mbms: MbmsSender | undefined;
  let ssrc: SsrcRegistration | undefined;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let interrupted = false;
  try {
    const addr = await server.listen(0, "127.0.0.1");
    const baseUrl = `http://127.0.0.1:${addr.port}`;
    const users = [
      { name: "ue-me", mode: "ME" as const, userId: "sip:ue-me@demo.invalid", kek: randomKek() },
      { name: "ue-uicc", mode: "UICC" as const, userId: "sip:ue-uicc@demo.invalid", kek: randomKek() },
    ];
    for (const u of users) {
      await manager.addUser(u.userId, u.kek);
      receivers.push(await UdpMbmsReceiver.open({ ...u, baseUrl, serviceId: SERVICE, rotationPeriodMs: o.tekPeriodMs, payloadSize: o.payloadSize }));
    }
    sock = await openBatchUdp({ host: "127.0.0.1", port: 0 });
    // Held past the last TEK it may protect under: a period (ssrc-registry.ts; one instance, no lease).
    ssrc = await SsrcRegistration.register(manager.store, manager.clock, SERVICE, "demo", o.tekPeriodMs + 1000);
    const source = new SyntheticSource({ bitrate: o.bitrate, payloadSize: o.payloadSize, ssrc: ssrc.ssrc });
    sender = new Sender(sock, source, receivers.map((r) => ({ port: r.port, host: "127.0.0.1" })));
    mbms = new MbmsSender({ manager, serviceId: SERVICE, ssrc });
    sender.useMbms(mbms);
    await manager.start();
    await mbms.start();
    await Promise.all(receivers.map((r) => r.start()));
    sender.start();
    const t0 = Date.now();

    // Live status.
    if (!o.quiet) {
      const tty = o.out.isTTY === true;
      const live = tty ? new LiveStatus(o.out) : undefined;
      const prev = receivers.map(() => ({ at: t0, bytes: 0 }));
      let senderPrev = { at: t0, bytes: 0 };
      statusTimer = setInterval(() => {
        const now = Date.now();
        const s = sender!;
        const sMbps = ((s.bytes - senderPrev.bytes) * 8) / 1e3 / Math.max(1, now - senderPrev.at);
        senderPrev = { at: now, bytes: s.bytes };
        const lines = [senderLine({ packets: s.packets, bytes: s.bytes, mbps: sMbps, tekSwitches: s.tekSwitches }, (now - t0) / 1000)];
        for (const f of senderFailures(s.report(now - t0))) lines.push(`WARNING ${f}`);
        receivers.forEach((r, i) => {
          const p = prev[i]!;
          const mbps = ((r.deliveredBytes - p.bytes) * 8) / 1e3 / Math.max(1, now - p.at);
          prev[i] = { at: now, bytes: r.deliveredBytes };
          lines.push(statusLine(r.report(s.packets, mbps)));
        });
        if (live) live.draw(lines);
        else o.out.write(lines.join("\n") + "\n");
      }, tty ? 250 : 1000);
    }

    // Run for the duration, or until aborted.
    const run = new RunWindow(o.durationS, o.signal);
    await run.done;
    interrupted = run.interrupted;
    const runMs = Date.now() - t0;
    sender.stop();
    if (statusTimer) clearInterval(statusTimer);
    statusTimer = undefined;
    await sleep(200); // packets in flight
    await Promise.all(receivers.map((r) => r.settled()));

    const sent = sender.packets;
    const senderReport = sender.report(runMs);
    const reports = receivers.map((r) => r.report(sent, (r.deliveredBytes * 8) / 1e3 / Math.max(1, runMs)));
    const failures: string[] = [];
    if (sent === 0) failures.push("no packet sent");
    failures.push(...senderFailures(senderReport));
    if (manager.listenerFailures > 0) failures.push(`${manager.listenerFailures} TEK events a listener could not take`);
    for (const r of reports) {
      if (r.delivered !== sent) failures.push(`${r.name}: delivered ${r.delivered} of ${sent}`);
      if (r.authFailed > 0) failures.push(`${r.name}: ${r.authFailed} authentication failures`);
      if (r.badPackets > 0 || r.duplicates > 0) failures.push(`${r.name}: ${r.badPackets} bad packets, ${r.duplicates} duplicates`);
    }
    return {
      ok: failures.length === 0, failures, interrupted, durationS: runMs / 1000, bitrate: o.bitrate, payloadSize: o.payloadSize,
      tekPeriodMs: o.tekPeriodMs, tgkLifetimeMs: o.tgkLifetimeMs, profile, derivation, sender: senderReport, receivers: reports, keyServer: ks,
    };
  } finally {
    if (statusTimer) clearInterval(statusTimer);
    sender?.stop();
    for (const r of receivers) await r.close().catch(() => undefined);
    await manager.stop();
    await server.close().catch(() => undefined);
    sock?.close();
    sender?.close(); // and the MbmsSender it was given
    await ssrc?.release();
    store.close();
  }
}

export function summary(r: DemoResult): string {
  const lines = [
    `mbms-srtp demo: ${r.durationS.toFixed(1)} s${r.interrupted ? " (interrupted)" : ""}, ${(r.bitrate / 1e6).toFixed(1)} Mbit/s target, ${r.payloadSize}-byte payload, TEK_RAND2 every ${r.tekPeriodMs} ms, TGK lifetime ${r.tgkLifetimeMs} ms, ${r.profile}, ${r.derivation === "alt2" ? "Alternative 2" : "Alternative 1"}`,
    `sender ${r.sender.packets} packets, ${r.sender.mbps.toFixed(1)} Mbit/s, ${r.sender.tekSwitches} TEK switches; key server ${r.keyServer.requests} requests (${r.keyServer.errors} errors)`,
  ];
  for (const x of r.receivers) {
    lines.push(`${x.name.padEnd(7)} (${x.mode}) delivered ${x.delivered}/${r.sender.packets}, lost ${x.lost}, auth failures ${x.authFailed}, replays ${x.replayed}, key switches ${x.switches}, re-keys ${x.rekeys}, ${x.mbps.toFixed(1)} Mbit/s`);
  }
  const k = r.sender.keying;
  lines.push(r.ok
    ? `OK: the sender switched TEK on schedule (${r.sender.tekSwitches} of ${k?.tekSwitchesExpected} scheduled) and withheld nothing; both receivers decrypted every packet sent, no authentication failure`
    : `FAILED: ${r.failures.join("; ")}`);
  return lines.join("\n");
}
