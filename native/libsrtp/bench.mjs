// Quick native baseline: protect and unprotect of a 12-byte header + 1200-byte payload through the
// libsrtp2 addon (AES_CM_128_HMAC_SHA1_80). Usage: node native/libsrtp/bench.mjs [packets=200000]
// Report only (no assertions). Packets go in chunks: protect a chunk into a store (timed), then
// unprotect the chunk (timed, including a 1222-byte copy into the work buffer, measured separately).
import { randomBytes } from "node:crypto";
import { Session, version } from "./index.js";

const N = Number(process.argv[2] ?? 200_000);
const PAYLOAD = 1200;
const RTP_LEN = 12 + PAYLOAD;
const SRTP_LEN = RTP_LEN + 10;
const CHUNK = 10_000;
const key = new Uint8Array(randomBytes(30));
const policy = (direction) => ({ profile: "AES_CM_128_HMAC_SHA1_80", direction, keys: [{ key }] });
const tx = new Session(policy("outbound"));
const rx = new Session(policy("inbound"));

const work = new Uint8Array(RTP_LEN + 144); // one reused packet buffer with trailer room
const view = new DataView(work.buffer);
const store = new Uint8Array(CHUNK * SRTP_LEN);
let protectNs = 0n, unprotectNs = 0n, copyNs = 0n;

for (let base = 0; base < N; base += CHUNK) {
  const count = Math.min(CHUNK, N - base);
  let t = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    work[0] = 0x80;
    view.setUint16(2, (base + i) & 0xffff); // seq; libsrtp tracks the ROC across wraps
    view.setUint32(8, 0xcafebabe);
    tx.protect(work, RTP_LEN); // payload is whatever is there (cost does not depend on it)
    store.set(work.subarray(0, SRTP_LEN), i * SRTP_LEN);
  }
  protectNs += process.hrtime.bigint() - t;

  t = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    work.set(store.subarray(i * SRTP_LEN, (i + 1) * SRTP_LEN));
    rx.unprotect(work, SRTP_LEN);
  }
  unprotectNs += process.hrtime.bigint() - t;

  t = process.hrtime.bigint();
  for (let i = 0; i < count; i++) work.set(store.subarray(i * SRTP_LEN, (i + 1) * SRTP_LEN));
  copyNs += process.hrtime.bigint() - t;
}

const us = (ns) => (Number(ns) / N / 1000).toFixed(3);
console.log(`${version()}: ${N} packets of 12+${PAYLOAD} bytes, AES_CM_128_HMAC_SHA1_80`);
console.log(`protect   ${us(protectNs)} µs/packet (incl. ~${us(copyNs)} µs storing the packet)`);
console.log(`unprotect ${us(unprotectNs)} µs/packet (incl. ~${us(copyNs)} µs copying it in)`);
