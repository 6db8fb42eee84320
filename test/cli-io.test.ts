// `mbms-srtp send` → `mbms-srtp receive` (ME mode, keyed over HTTP, TEK_RAND2 every 500 ms) on 127.0.0.1
// with each socket I/O: --io native (sendmmsg + GSO, recvmmsg) and --io dgram (node:dgram). Every packet the
// receiver keyed for is decrypted, in both; the summaries say which I/O ran and that nothing failed in it.
// Runs dist/cli/main.js (build first). Bounded: every process is killed after 20 s.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, freeUdpPort, lastJson, type ReceiveSummary, type SendSummary } from "./helpers/processes.js";
import { cliSuite } from "./helpers/cli-suite.js";

const { jsonFile } = cliSuite("mbms-io-");
const SERVICE = "urn:mbms:io:1";
const KEK = randomBytes(16).toString("hex");
let config = "";
beforeAll(() => {
  config = jsonFile("bmsc.json", { services: [{ serviceId: SERVICE, tekRand2PeriodMs: 500 }], users: [{ userId: "sip:ue@io.invalid", kek: KEK }] });
});

describe.each(["native", "dgram"] as const)("mbms-srtp send / receive --io %s", (io) => {
  it("decrypts every packet from the first it keyed for, through TEK switches", async () => {
    const port = await freeUdpPort();
    const send = cli(["send", "--dest", `127.0.0.1:${port}`, "--config", config, "--bitrate", "10M", "--duration", "3", "--io", io, "--json"], 20_000);
    const keyServer = (await send.firstLine).line.replace(/^key server /, "");
    expect(keyServer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const receive = cli(["receive", "--port", String(port), "--key-server", keyServer, "--service", SERVICE, "--user", "sip:ue@io.invalid",
      "--kek", KEK, "--tek-period", "500", "--duration", "4.5", "--io", io, "--json"], 20_000);
    const [s, r] = await Promise.all([send.done, receive.done]);
    expect(s.stderr).toBe("");
    expect(r.stderr).toBe("");
    expect([s.code, r.code]).toEqual([0, 0]);
    const sent = lastJson<SendSummary>(s.stdout).sender;
    const got = lastJson<ReceiveSummary>(r.stdout);
    const N = sent.packets;
    expect(N).toBeGreaterThan(2500); // 10 Mbit/s of 1212-byte packets for 3 s: ~3100
    expect(got.firstPacket).toBeGreaterThanOrEqual(0);
    expect(got.firstPacket).toBeLessThan(N / 2);
    expect({ delivered: got.delivered, lastPacket: got.lastPacket, lost: got.lost, authFailed: got.authFailed, badPackets: got.badPackets, duplicates: got.duplicates })
      .toEqual({ delivered: N - got.firstPacket, lastPacket: N - 1, lost: 0, authFailed: 0, badPackets: 0, duplicates: 0 });
    expect(got.switches).toBeGreaterThanOrEqual(3);
    expect({ tx: sent.io.io, rx: got.io.io, txErrors: sent.io.errors, rxErrors: got.io.errors, dropped: sent.io.dropped, sentPackets: sent.io.sentPackets })
      .toEqual({ tx: io, rx: io, txErrors: {}, rxErrors: {}, dropped: 0, sentPackets: N });
    // Native I/O: datagrams go out in batches (a few sendmmsg calls per 2 ms tick), not one call each.
    if (io === "native") expect(sent.io.sendCalls).toBeLessThan(N / 2);
    else expect(sent.io.sendCalls).toBe(N);
  }, 25_000);
});

describe("mbms-srtp receive --io", () => {
  it("anything but native or dgram is a usage error", async () => {
    const r = await cli(["receive", "--port", String(await freeUdpPort()), "--plain", "--io", "uring"], 15_000).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("mbms-srtp receive: --io must be native or dgram, not uring\n");
  }, 20_000);
});
