// `npm run selftest`: prove the WASM core and the SRTP engine against published vectors, then run an
// SRTP stream with MKI key switching through a sender and a receiver and report the cost per packet.
// (The main job, `npm run demo`, is the MBMS streaming demo of src/cli.)
import { SrtpContext } from "./srtp/index.js";
import { loadCore, simdSupported, type CryptoCore } from "./wasm/index.js";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));
let ok = true;

function check(name: string, got: string, want: string): void {
  const pass = got === want;
  ok &&= pass;
  console.log(`  ${pass ? "ok  " : "FAIL"} ${name}`);
}

function vectors(core: CryptoCore): void {
  core.setAesKey(0, unhex("2b7e151628aed2a6abf7158809cf4f3c"));
  const stream = new Uint8Array(16);
  core.aesCmXor(0, unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfd0000"), stream);
  check("RFC 3711 B.2 AES-CM keystream", hex(stream), "e03ead0935c95e80e166b16dd92b4eb4");
  core.wipeAesKey(0);
  core.setHmacKey(0, new TextEncoder().encode("Jefe"));
  const tag = core.hmacSha1(0, new TextEncoder().encode("what do ya want for nothing?"));
  check("RFC 2202 HMAC-SHA1 case 2", hex(tag), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  core.wipeHmacKey(0);
  const keys = [{ key: unhex("e1f97a0d3e018be0d64fa32c06de4139"), salt: unhex("0ec675ad498afeebb6960b3aabe6"), mki: unhex("e1f97a0d") }];
  const tx = new SrtpContext({ keys }, core);
  const buf = new Uint8Array(64);
  buf.set(unhex("800f1234decafbadcafebabe" + "ab".repeat(16)));
  const n = tx.protect(buf, 28);
  check("libsrtp srtp_validate_mki packet", hex(buf.subarray(0, n)), "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402e1f97a0db78d6acc99ea179b8dbb");
  tx.close();
}

/** A 1200-byte-payload RTP stream through sender and receiver, switching master key every 5000 packets. */
function stream(core: CryptoCore, packets = 20_000): void {
  const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  const keys = [1, 2, 3, 4].map((i) => ({ key: random(16), salt: random(14), mki: new Uint8Array([0, 0, 0, i, ...random(8)]) }));
  const tx = new SrtpContext({ keys }, core);
  const rx = new SrtpContext({ keys }, core);
  const rtp = new Uint8Array(12 + 1200);
  rtp.set([0x80, 96, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44]);
  rtp.set(random(1200), 12);
  const buf = new Uint8Array(1500);
  let protectMs = 0, unprotectMs = 0, switches = 0;
  for (let i = 0; i < packets; i++) {
    if (i > 0 && i % 5000 === 0) {
      tx.setSendKey(keys[(i / 5000) % keys.length]!.mki);
      switches++;
    }
    rtp[2] = (i >> 8) & 0xff;
    rtp[3] = i & 0xff;
    buf.set(rtp);
    const t0 = performance.now();
    const n = tx.protect(buf, rtp.length);
    const t1 = performance.now();
    const m = rx.unprotect(buf, n);
    unprotectMs += performance.now() - t1;
    protectMs += t1 - t0;
    if (m !== rtp.length || buf[100] !== rtp[100]) throw new Error(`packet ${i} did not round-trip`);
  }
  const us = (ms: number) => ((ms * 1000) / packets).toFixed(2);
  const mbit = ((packets * 1200 * 8) / ((protectMs + unprotectMs) / 2) / 1000).toFixed(0);
  console.log(`  ${packets} packets, ${switches} MKI switches, all decrypted: protect ${us(protectMs)} µs, unprotect ${us(unprotectMs)} µs per packet (≈ ${mbit} Mbit/s each way on one core)`);
  tx.close();
  rx.close();
}

console.log(`mbms-srtp demo — WebAssembly SIMD supported here: ${simdSupported()}`);
for (const flavor of simdSupported() ? (["simd", "scalar"] as const) : (["scalar"] as const)) {
  const core = loadCore({ flavor });
  console.log(`\n${flavor} build`);
  vectors(core);
  stream(core);
}
console.log(ok ? "\nall vectors match" : "\nVECTOR MISMATCH");
process.exitCode = ok ? 0 : 1;
