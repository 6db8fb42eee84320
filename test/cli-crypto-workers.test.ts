// `send --crypto-workers 2`: the synthetic source's SRTP is protected in a pool of two worker threads
// (src/cli/pool-keys.ts) while the I/O thread paces and sends; a MIKEY receiver on 127.0.0.1 must decrypt
// every packet from its first to the sender's last, with no authentication failure, across ≥ 3 TEK
// switches (TEK_RAND2 every 300 ms; the key changes reach the workers at batch boundaries). The option's
// conflicts (--plain, --rtp-in) and bad values are usage errors.
// At a high rate, the packets on the wire are each protected exactly once: a slot whose batch the pool has
// collected but the I/O thread not yet sent must not be filled again (it once was: plaintext payloads went
// out, then the same sequence numbers again encrypted).
// Runs dist/cli/main.js (build first). Bounded: every process is killed after 20 s.
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, freeTcpPort, freeUdpPort, lastJson, type ReceiveSummary, type SendSummary } from "./helpers/processes.js";
import { cliSuite } from "./helpers/cli-suite.js";

const SERVICE = "urn:mbms:cw:1";
const USER = "sip:ue-cw@cw.invalid";
const KEK = randomBytes(16).toString("hex");
const { jsonFile } = cliSuite("mbms-cw-");
let bmscConfig = "";
beforeAll(() => {
  bmscConfig = jsonFile("bmsc.json", { services: [{ serviceId: SERVICE, tekRand2PeriodMs: 300, tgkLifetimeMs: 1200 }], users: [{ userId: USER, kek: KEK }] });
});

describe("mbms-srtp send --crypto-workers", () => {
  it("with 2 workers, a receiver decrypts every packet across ≥ 3 TEK switches", async () => {
    const [port, keyPort] = [await freeUdpPort(), await freeTcpPort()];
    const send = cli(["send", "--dest", `127.0.0.1:${port}`, "--config", bmscConfig, "--key-port", String(keyPort), "--bitrate", "8M",
      "--duration", "3", "--crypto-workers", "2", "--json"], 20_000);
    expect((await send.firstLine).line).toBe(`key server http://127.0.0.1:${keyPort}`);
    const ue = jsonFile("ue.json", { "key-server": `http://127.0.0.1:${keyPort}`, service: SERVICE, user: USER, kek: KEK, mode: "me", json: true });
    const recv = cli(["receive", "--config", ue, "--port", String(port)], 20_000);
    const s = await send.done;
    await new Promise((r) => setTimeout(r, 300)); // packets in flight
    recv.child.kill("SIGINT");
    const r = await recv.done;

    expect(s.stderr).toBe("");
    expect(s.code).toBe(0);
    const sent = lastJson<SendSummary>(s.stdout).sender;
    expect(sent.cryptoWorkers).toBe(2);
    expect(sent.keying!.withheld).toBe(0);
    expect(r.stderr).toBe("");
    const x = lastJson<ReceiveSummary>(r.stdout);
    expect({ lost: x.lost, authFailed: x.authFailed, badPackets: x.badPackets, lastPacket: x.lastPacket })
      .toEqual({ lost: 0, authFailed: 0, badPackets: 0, lastPacket: sent.packets - 1 });
    expect(x.delivered).toBe(sent.packets - x.firstPacket);
    expect(x.delivered).toBeGreaterThan(1000);
    expect(x.switches).toBeGreaterThanOrEqual(3);
  }, 25_000);

  it("with 1 worker at 150 Mbit/s, no packet leaves in plaintext and no sequence number leaves twice", async () => {
    const [port, keyPort] = [await freeUdpPort(), await freeTcpPort()];
    const wire = await capture(port);
    const send = cli(["send", "--dest", `127.0.0.1:${port}`, "--config", bmscConfig, "--key-port", String(keyPort), "--bitrate", "150M",
      "--duration", "3", "--crypto-workers", "1", "--json"], 20_000);
    const s = await send.done;
    await new Promise((r) => setTimeout(r, 300)); // packets in flight
    const packets = wire.stop();

    expect(s.stderr).toBe("");
    const sent = lastJson<SendSummary>(s.stdout).sender;
    expect(sent.tekSwitches).toBeGreaterThanOrEqual(5);
    expect(sent.packets).toBeLessThan(1 << 16); // so that a sequence number seen twice is a packet sent twice
    expect(packets.length).toBeGreaterThan(sent.packets * 0.9);
    const plaintext = packets.filter(carriesSourcePattern).length;
    const sequenceNumbers = new Set(packets.map((p) => p.readUInt16BE(2)));
    expect({ plaintext, repeated: packets.length - sequenceNumbers.size }).toEqual({ plaintext: 0, repeated: 0 });
  }, 25_000);

  it("conflicting options and bad values are usage errors", async () => {
    const base = ["send", "--dest", "127.0.0.1:5004", "--config", bmscConfig];
    const cases: Array<[string[], string]> = [
      [["--plain", "--crypto-workers", "1"], "not with --plain or --rtp-in"],
      [["--rtp-in", "127.0.0.1:5006", "--crypto-workers", "1"], "not with --plain or --rtp-in"],
      [["--crypto-workers", "1.5"], "--crypto-workers must be an integer"],
      [["--crypto-workers", "65"], "--crypto-workers must be 0..64"],
    ];
    for (const [args, message] of cases) {
      const exit = await cli([...base, ...args], 10_000).done;
      expect([args.join(" "), exit.code, exit.stderr.includes(message)]).toEqual([args.join(" "), 2, true]);
    }
  }, 20_000);
});

/** Collects every datagram sent to 127.0.0.1:port until stop(). */
async function capture(port: number): Promise<{ stop(): Buffer[] }> {
  const socket = dgram.createSocket("udp4");
  const packets: Buffer[] = [];
  socket.on("message", (m) => packets.push(m));
  await new Promise<void>((resolve) => socket.bind(port, "127.0.0.1", resolve));
  socket.setRecvBufferSize(32 << 20);
  return { stop: () => (socket.close(), packets) };
}

/**
 * The synthetic source's payload is a run of bytes that each count up by one (synthetic-source.ts); sixteen
 * of them in a row after the RTP header are plaintext (by chance in ciphertext: 2^-120 per packet).
 */
function carriesSourcePattern(p: Buffer): boolean {
  const from = 16; // past the RTP header and the packet number
  for (let i = from + 1; i < from + 16; i++) if (p[i] !== ((p[i - 1]! + 1) & 0xff)) return false;
  return true;
}
