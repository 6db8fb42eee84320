// `mbms-srtp send` (the BM-SC: key server + SRTP sender) to the multicast group 239.1.2.3:5004 and two
// `mbms-srtp receive` (ME and UICC) that join the group on a shared port, all inside a network namespace
// this test creates (multicast never touches the host's interfaces): lo up, 224.0.0.0/4 routed to lo. The
// namespace is deleted in afterAll, also on failure. Needs root and `ip` (iproute2): FAILS, never skips,
// without them. Bounded: < 40 s per case. A second case runs both sides on the native batched I/O
// (src/net/batch-udp.ts: sendmmsg with UDP GSO to the group, recvmmsg) explicitly.
//
// Counting: packets the sender wrote before a receiver had joined the group and keyed itself never reach
// it (not a member yet, or no 'message' listener before its key delivery), so each receiver counts from
// the first packet it decrypted (firstPacket, its lowest packet number). Packet numbers are 0..N-1 with
// N the sender's reported count; a receiver that lost nothing after it keyed has delivered exactly
// N - firstPacket distinct packets, lastPacket = N-1 and no gap (lost 0). firstPacket is bounded too
// (the receivers start ~0.3 s after the sender), so this cannot pass by receiving only a tail.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN, killChildren, lastJson, start, type ReceiveSummary, type SendSummary } from "../helpers/processes.js";

const NS = `mbms-test-${randomBytes(4).toString("hex")}`;
const SERVICE = "urn:mbms:netns:1";
const KEK_ME = randomBytes(16).toString("hex");
const KEK_UICC = randomBytes(16).toString("hex");
let dir = "";
let nsCreated = false;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 5_000 });
}

/** `mbms-srtp …args` inside the namespace. */
const runInNs = (args: string[], timeoutMs: number) => start("ip", ["netns", "exec", NS, process.execPath, MAIN, ...args], timeoutMs);


beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error("test/netns needs root (it creates a network namespace): run as root, as CI does");
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    throw new Error("test/netns needs the `ip` command: apt-get install iproute2");
  }
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -p tsconfig.json, or npm run build)`);
  ip("netns", "add", NS);
  nsCreated = true;
  ip("-n", NS, "link", "set", "lo", "up");
  ip("-n", NS, "link", "set", "lo", "multicast", "on");
  ip("-n", NS, "route", "add", "224.0.0.0/4", "dev", "lo");
  dir = mkdtempSync(join(tmpdir(), "mbms-netns-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    services: [{ serviceId: SERVICE, tekRand2PeriodMs: 1000, tgkLifetimeMs: 60_000 }],
    users: [{ userId: "sip:ue-me@netns.invalid", kek: KEK_ME }, { userId: "sip:ue-uicc@netns.invalid", kek: KEK_UICC }],
  }));
});

afterAll(() => {
  killChildren();
  if (nsCreated) ip("netns", "del", NS);
  if (dir) rmSync(dir, { recursive: true, force: true });
});


describe("mbms-srtp send / receive over multicast in a network namespace", () => {
  it("send to 239.1.2.3:5004 for 5 s, TEK_RAND2 every second: ME and UICC receivers decrypt every packet from the first they keyed", async () => {
    const send = runInNs(["send", "--dest", "239.1.2.3:5004", "--config", join(dir, "config.json"), "--bitrate", "10M",
      "--duration", "5", "--key-port", "18443", "--multicast-ttl", "1", "--multicast-interface", "127.0.0.1", "--json"], 20_000);
    const first = (await send.firstLine).line;
    expect(first).toBe("key server http://127.0.0.1:18443");
    const common = ["--group", "239.1.2.3:5004", "--key-server", "http://127.0.0.1:18443", "--service", SERVICE, "--tek-period", "1000",
      "--duration", "6.5", "--json"];
    const me = runInNs(["receive", ...common, "--user", "sip:ue-me@netns.invalid", "--kek", KEK_ME, "--mode", "me"], 20_000);
    const uicc = runInNs(["receive", ...common, "--user", "sip:ue-uicc@netns.invalid", "--kek", KEK_UICC, "--mode", "uicc"], 20_000);
    const [s, a, b] = await Promise.all([send.done, me.done, uicc.done]);
    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
    const sent = lastJson<SendSummary>(s.stdout);
    expect(sent.sender.dest).toBe("239.1.2.3:5004");
    expect(sent.keyServer.errors).toBe(0);
    const N = sent.sender.packets;
    // 10 Mbit/s of 1212-byte packets for 5 s: about 5150 packets.
    expect(N).toBeGreaterThan(4000);
    expect(sent.sender.tekSwitches).toBeGreaterThanOrEqual(4);
    for (const [run, mode] of [[a, "ME"], [b, "UICC"]] as const) {
      expect(run.stderr, mode).toBe("");
      const r = lastJson<ReceiveSummary>(run.stdout);
      expect(r.mode).toBe(mode);
      // Joined and keyed within 2.5 s of the sender's start (~0.3 s in practice).
      expect(r.firstPacket, mode).toBeGreaterThanOrEqual(0);
      expect(r.firstPacket, mode).toBeLessThan(N / 2);
      expect({ mode, delivered: r.delivered, lastPacket: r.lastPacket, lost: r.lost, authFailed: r.authFailed, replayed: r.replayed, badPackets: r.badPackets, duplicates: r.duplicates })
        .toEqual({ mode, delivered: N - r.firstPacket, lastPacket: N - 1, lost: 0, authFailed: 0, replayed: 0, badPackets: 0, duplicates: 0 });
      expect(r.switches, mode).toBeGreaterThanOrEqual(3);
      expect(r.ok).toBe(true);
      expect(run.code).toBe(0);
    }
  }, 35_000);

  it("--io native on both sides (sendmmsg + UDP GSO to the group, recvmmsg on two members of one port): every packet, no I/O error", async () => {
    const send = runInNs(["send", "--dest", "239.1.2.4:5006", "--config", join(dir, "config.json"), "--bitrate", "20M",
      "--duration", "3", "--key-port", "18444", "--io", "native", "--json"], 20_000);
    expect((await send.firstLine).line).toBe("key server http://127.0.0.1:18444");
    const common = ["--group", "239.1.2.4:5006", "--key-server", "http://127.0.0.1:18444", "--service", SERVICE, "--tek-period", "1000",
      "--duration", "4.5", "--io", "native", "--json"];
    const rx = [KEK_ME, KEK_UICC].map((kek, i) => runInNs(["receive", ...common, "--user", i === 0 ? "sip:ue-me@netns.invalid" : "sip:ue-uicc@netns.invalid", "--kek", kek], 20_000));
    const [s, ...rs] = await Promise.all([send.done, ...rx.map((r) => r.done)]);
    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
    const sent = lastJson<SendSummary>(s.stdout).sender;
    const N = sent.packets;
    expect(N).toBeGreaterThan(4000); // 20 Mbit/s of 1212-byte packets for 3 s: ~6200
    // The kernel either segmented the batches (GSO) or refused once and plain sendmmsg took over; never an error left.
    expect({ io: sent.io.io, errors: sent.io.errors, dropped: sent.io.dropped, sentPackets: sent.io.sentPackets })
      .toEqual({ io: "native", errors: sent.io.gsoRefused ? { [sent.io.gsoRefused]: 1 } : {}, dropped: 0, sentPackets: N });
    expect(sent.io.sendCalls).toBeLessThan(N / 4);
    for (const run of rs) {
      expect(run.stderr).toBe("");
      const r = lastJson<ReceiveSummary>(run.stdout);
      expect(r.firstPacket).toBeLessThan(N / 2);
      expect({ io: r.io.io, rxErrors: r.io.errors, delivered: r.delivered, lastPacket: r.lastPacket, lost: r.lost, authFailed: r.authFailed, badPackets: r.badPackets })
        .toEqual({ io: "native", rxErrors: {}, delivered: N - r.firstPacket, lastPacket: N - 1, lost: 0, authFailed: 0, badPackets: 0 });
      expect(r.io.receiveCalls).toBeLessThan(r.io.receivedPackets);
      expect(run.code).toBe(0);
    }
  }, 35_000);
});
