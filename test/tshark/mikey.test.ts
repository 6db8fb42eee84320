// An independent dissector reads our MIKEY messages: Wireshark's tshark (Debian `tshark`), via text2pcap
// on UDP port 2269. Every message we produce must dissect with no malformed-packet or expert warning and
// show our field values. Needs Debian's tshark: fails (never skips) when it is missing.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  IdType, KeyDataType, KvType, TsType, buildMbmsKeyMessage, decodeMessage, loadCore, openPskMessage,
  sealPskMessage, sealPskVerification,
} from "../../src/index.js";

const work = mkdtempSync(join(tmpdir(), "mikey-tshark-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const core = loadCore();

/** Dissects `bytes` as one UDP datagram to port 2269; returns tshark's verbose text. */
function dissect(name: string, bytes: Uint8Array): string {
  const hexdump = Array.from({ length: Math.ceil(bytes.length / 16) }, (_, row) =>
    `${(row * 16).toString(16).padStart(6, "0")} ${Array.from(bytes.subarray(row * 16, row * 16 + 16), (b) => b.toString(16).padStart(2, "0")).join(" ")}`,
  ).join("\n");
  const hexFile = join(work, `${name}.hex`), pcap = join(work, `${name}.pcap`);
  writeFileSync(hexFile, `${hexdump}\n`);
  execFileSync("text2pcap", ["-q", "-4", "127.0.0.1,127.0.0.1", "-u", "1000,2269", hexFile, pcap]);
  return execFileSync("tshark", ["-r", pcap, "-V", "-O", "mikey", "-o", "gui.column.format:\"Info\",\"%i\""], { encoding: "utf8" });
}

function expectClean(text: string): void {
  expect(text).toContain("Multimedia Internet KEYing");
  expect(text).not.toMatch(/Malformed|Expert Info|\[Dissector bug/i);
}

const PSK = new Uint8Array(16).fill(7);
const NOW = 1_800_000_000_000;

describe("tshark dissects our MIKEY messages", () => {
  it("finds tshark and text2pcap", () => {
    expect(() => execFileSync("tshark", ["--version"])).not.toThrow();
  });

  it("a PSK Initiator message with IDs, SP and three TGKs", () => {
    const bytes = sealPskMessage({
      psk: PSK, csbId: 0x12345678, srtpMap: [{ policyNo: 0, ssrc: 0xcafebabe, roc: 5 }], rand: new Uint8Array(16).fill(0x20),
      timestamp: { tsType: TsType.NtpUtc, value: 0xeb0a1b2c3d4e5f60n },
      idi: { idType: IdType.Uri, id: new TextEncoder().encode("bmsc.example") },
      idr: { idType: IdType.Uri, id: new TextEncoder().encode("user-1") },
      keys: [1, 2, 3].map((i) => ({ keyType: KeyDataType.Tgk, key: new Uint8Array(16).fill(i), kv: { kvType: KvType.Spi, spi: Uint8Array.of(0, 0, 0, i) } })),
    }, core);
    const text = dissect("psk", bytes);
    expectClean(text);
    expect(text).toMatch(/CSB ID: 0x12345678/i);
    expect(text).toMatch(/SSRC: 0xcafebabe/i);
    expect(text).toMatch(/ROC: 0x0*5\b|ROC: 5\b/i);
    expect(text).toContain("bmsc.example");
    expect(text).toContain("user-1");
    expect(text).toMatch(/Key data transport/i);
  });

  it("the MBMS key message (Key ID extension, SP) and a Verification message", () => {
    const mbmsInput = {
      kek: PSK, bmscId: "bmsc.operator.example", userId: "user-2", serviceId: "urn:mbms:tv:1", csbId: 0xc0ffee01,
      tekRand: new Uint8Array(16).fill(9), profile: "AES_CM_128_HMAC_SHA1_80" as const, streams: [{ ssrc: 0x11223344, roc: 0 }], nowMs: NOW,
      tgks: [{ tgkId: 17, tgk: new Uint8Array(16).fill(1), validFrom: NOW, expiresAt: NOW + 3_600_000 }],
    };
    const mbms = buildMbmsKeyMessage(mbmsInput, core);
    const text = dissect("mbms", mbms);
    expectClean(text);
    expect(text).toMatch(/CSB ID: 0xc0ffee01/i);
    expect(text).toMatch(/Security Policy/i);
    expect(text).toMatch(/General Extension/i);
    // Two General Extensions: the clear Key ID one (service parameters) and the sealed one (type 250), whose
    // Data tshark shows as bytes: the service id is nowhere in the dissection.
    expect(text.match(/General Extension/gi)!.length).toBeGreaterThanOrEqual(2);
    expect(text).not.toContain(mbmsInput.serviceId);
    expect(text).not.toContain(Buffer.from(mbmsInput.serviceId).toString("hex"));
    expect(text).toMatch(/RAND/);
    // A re-key: an RFC 3830 §4.5 update, the same message without RAND.
    const update = dissect("mbms-update", buildMbmsKeyMessage({ ...mbmsInput, update: true, nowMs: NOW + 1000 }, core));
    expectClean(update);
    expect(update).toMatch(/CSB ID: 0xc0ffee01/i);
    expect(update).toMatch(/Key data transport/i);
    expect(update).not.toMatch(/RAND/);
    const opened = openPskMessage(sealPskMessage({
      psk: PSK, csbId: 1, srtpMap: [{ policyNo: 0, ssrc: 1, roc: 0 }], rand: new Uint8Array(16), verify: true,
      keys: [{ keyType: KeyDataType.Tgk, key: new Uint8Array(16), kv: { kvType: KvType.Null } }],
    }, core), { psk: PSK }, core);
    const verify = sealPskVerification(PSK, opened, core);
    expect(decodeMessage(verify).header.dataType).toBe(1);
    const vtext = dissect("verify", verify);
    expectClean(vtext);
    expect(vtext).toMatch(/PSK ver msg/);
    expect(vtext).toMatch(/Ver msg \(V\)/);
  });
});
