// The CLI receiver's SSRC learning (received-streams.ts) under hostile input, in one process: a BM-SC (memory
// store, key server on 127.0.0.1) and an MbmsSender with a registered random SSRC; a UdpMbmsReceiver (ME
// mode) keyed from it. Between the real packets, a flood of forged ones with random SSRCs and sequence
// numbers: under the real MKI with a wrong tag, and under the real TGK-ID with random TEK_RAND2 (each a
// TEK derivation the evaluator must bound). None may create a stream; the real stream loses nothing. Then
// a key holder's packets (authenticated: protected with the real TEK) under many SSRCs: at most maxStreams
// streams are learned, the rest refused and counted, the real stream still complete.
import dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { MbmsSender, MemoryKeyStore, SessionManager, SsrcRegistration, createKeyServer, randomSequence, silentLogger } from "../src/mbms/bmsc/index.js";
import { UdpMbmsReceiver } from "../src/cli/udp-mbms-receiver.js";
import { SyntheticSource } from "../src/cli/synthetic-source.js";

const SERVICE = "urn:mbms:ssrc:1";
const USER = "sip:ue@ssrc.invalid";
const PAYLOAD = 100;
const MKI_BYTES = 12;
const TAG_BYTES = 10;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function setup(maxStreams: number) {
  const store = new MemoryKeyStore();
  const manager = await SessionManager.create({ store, logger: silentLogger, services: [{ serviceId: SERVICE, tekRand2PeriodMs: 60_000, tgkLifetimeMs: 3_600_000 }] });
  const kek = new Uint8Array(randomBytes(16));
  await manager.addUser(USER, kek);
  const server = createKeyServer({ manager, logger: silentLogger });
  const { port } = await server.listen(0, "127.0.0.1");
  await manager.start();
  const reg = await SsrcRegistration.register(manager.store, manager.clock, SERVICE, "test", 120_000);
  const mbms = new MbmsSender({ manager, serviceId: SERVICE, ssrc: reg });
  await mbms.start();
  const rx = await UdpMbmsReceiver.open({
    name: "ue", mode: "ME", userId: USER, kek, baseUrl: `http://127.0.0.1:${port}`, serviceId: SERVICE, rotationPeriodMs: 60_000, payloadSize: PAYLOAD, maxStreams,
  });
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  cleanups.push(() => store.close(), () => manager.stop(), () => server.close(), () => reg.release(), () => mbms.close(), () => rx.close(), () => void sock.close());
  await rx.start();
  const source = new SyntheticSource({ bitrate: 1e6, payloadSize: PAYLOAD, ssrc: reg.ssrc, firstSeq: randomSequence() });
  const buf = new Uint8Array(12 + PAYLOAD + MKI_BYTES + TAG_BYTES);
  const send = (b: Uint8Array) => new Promise<void>((r) => sock.send(b, rx.port, "127.0.0.1", () => r()));
  /** The source's next packet, protected and sent; its SRTP bytes. */
  const real = async () => {
    source.write(buf);
    const d = buf.slice(0, mbms.protect(buf, source.packetLength));
    await send(d);
    return d;
  };
  return { reg, mbms, rx, send, real };
}

describe("UdpMbmsReceiver: SSRC learning under hostile input", () => {
  it("a flood of forged packets with random SSRCs creates no stream; the real stream delivers every packet", async () => {
    const { reg, rx, send, real } = await setup(16);
    const template = await real();
    const realMki = template.subarray(template.length - TAG_BYTES - MKI_BYTES, template.length - TAG_BYTES);
    let sent = 1;
    const FORGED = 4000;
    for (let i = 0; i < FORGED; i++) {
      const f = new Uint8Array(randomBytes(template.length));
      f.set(template.subarray(0, 2)); // RTP version 2, PT; random sequence number, timestamp, SSRC, payload, tag
      f.set(realMki, template.length - TAG_BYTES - MKI_BYTES);
      if (i % 2 === 1) f.set(randomBytes(8), template.length - TAG_BYTES - 8); // the real TGK-ID, a random TEK_RAND2
      await send(f);
      if (i % 20 === 0) {
        await real();
        sent++;
        await sleep(1);
      }
    }
    await sleep(200);
    await rx.settled();
    const rep = rx.report(sent, 0);
    expect(rx.streamReports()).toEqual([{ ssrc: reg.ssrc, delivered: sent, duplicates: 0, firstPacket: 0, lastPacket: sent - 1 }]);
    expect({ delivered: rep.delivered, badPackets: rep.badPackets, duplicates: rep.duplicates, lost: rep.lost }).toEqual({ delivered: sent, badPackets: 0, duplicates: 0, lost: 0 });
    // The forgeries stopped in the SRTP layer: every one under the real MKI failed authentication; those under
    // a new TEK_RAND2 failed it too or were dropped from the evaluator's bounded queue.
    console.info(`[ssrc-learning] forged ${FORGED}: authFailed ${rep.authFailed}, refused ${rep.refused}, queuedDropped ${rep.queuedDropped}`);
    expect(rep.authFailed).toBeGreaterThanOrEqual(FORGED / 2);
    expect(rep.authFailed + rep.refused + rep.queuedDropped).toBeLessThanOrEqual(FORGED);
  }, 30_000);

  it("a key holder's authenticated packets under many SSRCs: at most maxStreams streams, the rest refused, the real stream complete", async () => {
    const { reg, mbms, rx, send, real } = await setup(4);
    let sent = 0;
    const other = new Uint8Array(12 + PAYLOAD + MKI_BYTES + TAG_BYTES);
    for (let i = 0; i < 200; i++) {
      await real();
      sent++;
      // A packet as the synthetic source writes it (count 0, sequence 0) under another random SSRC, protected with the TEK.
      const src = new SyntheticSource({ bitrate: 1e6, payloadSize: PAYLOAD, ssrc: new DataView(randomBytes(4).buffer).getUint32(0) });
      src.write(other);
      await send(other.slice(0, mbms.protect(other, src.packetLength)));
      if (i % 20 === 0) await sleep(1);
    }
    await sleep(200);
    await rx.settled();
    const streams = rx.streamReports();
    expect(streams).toHaveLength(4);
    expect(streams[0]).toEqual({ ssrc: reg.ssrc, delivered: sent, duplicates: 0, firstPacket: 0, lastPacket: sent - 1 });
    // 3 forged streams learned (one packet each), the other 197 refused (counted as bad packets)
    expect(streams.slice(1).map((s) => s.delivered)).toEqual([1, 1, 1]);
    expect(rx.badPackets).toBe(197);
    expect(rx.report(sent, 0).authFailed).toBe(0);
  }, 30_000);
});
