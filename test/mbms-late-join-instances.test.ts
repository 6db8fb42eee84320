// A receiver keyed after the sender's sequence number wrapped, by another BM-SC instance than the one that
// sends: two SessionManagers on one SQLite file (two connections, as two processes on one host), instance A
// runs the sender, instance B only serves keys. B's key message must name A's stream with its ROC, which it
// can only know from the store (stream-publisher.ts, service-streams.ts). The control: before A's publisher
// has polled, B names nothing, and the UE keyed then decrypts none of the packets.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createKeyServer } from "../src/mbms/bmsc/key-server.js";
import { MbmsSender } from "../src/mbms/bmsc/mbms-sender.js";
import { SessionManager } from "../src/mbms/bmsc/session-manager.js";
import { SqliteKeyStore } from "../src/mbms/bmsc/store/index.js";
import { POLL_MS } from "../src/mbms/bmsc/stream-publisher.js";
import { silentLogger } from "../src/logger.js";
import type { KeyDelivery } from "../src/mbms/ue/key-client.js";
import { UeReceiver } from "../src/mbms/ue/ue-receiver.js";
import { ManualClock } from "./helpers/manual-clock.js";
import { rtpPacket } from "./helpers/rtp.js";

const SERVICE = "urn:mbms:late-join:instances";
const SSRC = 0x5eed0001;
const WRAPPED = 2 * 65536 + 500;
const dir = mkdtempSync(join(tmpdir(), "late-join-instances-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function instances(clock: ManualClock) {
  const file = join(dir, `store-${globalThis.crypto.randomUUID()}.db`);
  const services = [{ serviceId: SERVICE, tgkLifetimeMs: 3_600_000, tekRand2PeriodMs: 600_000, nextTgkLeadMs: 600_000 }];
  const open = async (owner: string) => {
    const store = new SqliteKeyStore(file);
    const manager = await SessionManager.create({ store, clock, logger: silentLogger, lease: { owner, ttlMs: 3000 }, services });
    await manager.start();
    cleanups.push(async () => {
      await manager.stop();
      store.close();
    });
    return manager;
  };
  const a = await open("bmsc-a");
  const b = await open("bmsc-b");
  const ks = createKeyServer({ manager: b, logger: silentLogger });
  const { port } = await ks.listen(0, "127.0.0.1");
  cleanups.push(() => ks.close());
  const sender = new MbmsSender({ manager: a, serviceId: SERVICE });
  cleanups.push(() => sender.close());
  await sender.start();
  const template = rtpPacket({ seq: 0, ssrc: SSRC, payload: 64 });
  let next = 0;
  /** The sender's next `count` packets, SRTP. */
  const send = (count: number) => Array.from({ length: count }, () => {
    template.writeUInt16BE(next++ & 0xffff, 2);
    const buf = new Uint8Array(template.length + sender.trailerLength);
    buf.set(template);
    return buf.subarray(0, sender.protect(buf, template.length));
  });
  /** A UE keyed by instance B now, with what it decrypted and was delivered. */
  const ue = async (name: string) => {
    const userId = `sip:${name}@late-join.invalid`;
    const kek = globalThis.crypto.getRandomValues(new Uint8Array(16));
    await b.addUser(userId, kek, [SERVICE]);
    const got: number[] = [];
    const deliveries: KeyDelivery[] = [];
    const rx = new UeReceiver({
      baseUrl: `http://127.0.0.1:${port}`, serviceId: SERVICE, userId, clock, keying: { mode: "ME", kek },
      onPacket: (rtp) => got.push((rtp[2]! << 8) | rtp[3]!), onDelivery: (d) => deliveries.push(d),
    });
    cleanups.push(() => rx.close());
    await rx.start();
    return { rx, got, deliveries };
  };
  return { a, b, send, ue };
}

async function receiveAll(rx: UeReceiver, packets: Uint8Array[]): Promise<void> {
  for (const [i, p] of packets.entries()) {
    rx.receive(p.slice(), p.length);
    if (i === 0) await rx.settled(); // the first packet's TEK derivation
  }
  await rx.settled();
}

describe("a late joiner keyed by an instance that does not send", () => {
  it("gets the other instance's stream and ROC from the store and decrypts every packet from its first", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const { a, b, send, ue } = await instances(clock);
    expect([a.ownsSchedule(SERVICE), b.ownsSchedule(SERVICE)]).toEqual([true, false]);
    send(WRAPPED);
    await clock.advanceSettled(POLL_MS); // A's publisher writes ROC 2
    const u = await ue("late");
    expect(u.deliveries[0]!.streams).toEqual([{ ssrc: SSRC, roc: 2 }]);
    await receiveAll(u.rx, send(2000)); // across the third wrap at 3·65,536
    expect(u.rx.stats.authFailed).toBe(0);
    expect(u.got).toHaveLength(2000);
    expect(u.got[0]).toBe(WRAPPED & 0xffff);
  }, 60_000);

  it("control: keyed before the publisher polled, the message names no stream and nothing decrypts", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const { send, ue } = await instances(clock);
    send(WRAPPED);
    const u = await ue("early");
    expect(u.deliveries[0]!.streams).toEqual([{ ssrc: 0, roc: 0 }]);
    await receiveAll(u.rx, send(500));
    expect(u.got).toHaveLength(0);
    expect(u.rx.stats.authFailed).toBe(500);
  }, 60_000);
});
