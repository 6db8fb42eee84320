// `mbms-srtp receive --pcap-out FILE` writes what it decrypted as a pcap that an independent reader takes:
// tshark (Debian `tshark`) reads every packet as IPv4/UDP/RTP with valid IP checksums, no malformed packet,
// the sender's SSRC (random, from its --json summary) and consecutive sequence numbers, as many as the receiver delivered. Loopback
// unicast: send (MIKEY keyed, TEK_RAND2 every second) → receive (ME). Fails, never skips, without tshark.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli, freeUdpPort, killChildren, lastJson, type ReceiveSummary, type SendSummary } from "../helpers/processes.js";

const dir = mkdtempSync(join(tmpdir(), "mbms-pcap-out-"));
afterAll(() => {
  killChildren();
  rmSync(dir, { recursive: true, force: true });
});
const SERVICE = "urn:mbms:pcap:1";
const USER = "sip:ue@pcap.invalid";
const KEK = randomBytes(16).toString("hex");

describe("receive --pcap-out", () => {
  it("tshark reads every decrypted packet as RTP: count, SSRC, sequence, checksums", async () => {
    writeFileSync(join(dir, "bmsc.json"), JSON.stringify({ services: [{ serviceId: SERVICE, tekRand2PeriodMs: 1000, tgkLifetimeMs: 60_000 }], users: [{ userId: USER, kek: KEK }] }), { mode: 0o600 });
    writeFileSync(join(dir, "ue.json"), JSON.stringify({ service: SERVICE, user: USER, kek: KEK, json: true }), { mode: 0o600 });
    const port = await freeUdpPort();
    const pcap = join(dir, "out.pcap");
    const send = cli(["send", "--dest", `127.0.0.1:${port}`, "--config", join(dir, "bmsc.json"), "--bitrate", "2M", "--duration", "2.5", "--json"], 20_000);
    const url = (await send.firstLine).line.slice("key server ".length);
    const recv = cli(["receive", "--config", join(dir, "ue.json"), "--key-server", url, "--port", String(port), "--duration", "3", "--pcap-out", pcap], 20_000);
    const [s, r] = await Promise.all([send.done, recv.done]);
    expect(s.code).toBe(0);
    const ssrc = `0x${lastJson<SendSummary>(s.stdout).sender.ssrc!.toString(16).padStart(8, "0")}`;
    expect(r.stderr).toBe("");
    const x = lastJson<ReceiveSummary>(r.stdout);
    expect(x.ok).toBe(true);
    expect(x.switches).toBeGreaterThanOrEqual(1);
    expect(statSync(pcap).mode & 0o777).toBe(0o600);

    const fields = execFileSync("tshark", ["-r", pcap, "-o", "ip.check_checksum:TRUE", "-d", `udp.port==${port},rtp`, "-T", "fields",
      "-e", "ip.checksum.status", "-e", "udp.dstport", "-e", "rtp.ssrc", "-e", "rtp.seq", "-e", "_ws.malformed", "-e", "_ws.expert.severity"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).replace(/\n$/, "").split("\n").map((l) => l.split("\t"));
    // Every packet decrypted, the ones of the join included, is in the file.
    expect(fields.length).toBe(x.delivered + x.joinDelivered);
    const seqs = fields.map((f) => Number(f[3]));
    // ip.checksum.status 1 = good (Wireshark: 0 bad, 1 good, 2 unverified).
    for (const [i, f] of fields.entries()) {
      expect({ i, checksum: f[0], port: f[1], ssrc: f[2], malformed: f[4], expert: f[5] })
        .toEqual({ i, checksum: "1", port: String(port), ssrc, malformed: "", expert: "" });
      if (i > 0) expect(seqs[i], `packet ${i}`).toBe((seqs[i - 1]! + 1) & 0xffff);
    }
    // A second run may not overwrite the file.
    const again = await cli(["receive", "--config", join(dir, "ue.json"), "--key-server", url, "--port", String(port), "--duration", "0.1", "--pcap-out", pcap], 10_000).done;
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--pcap-out: EEXIST/);
  });
});
