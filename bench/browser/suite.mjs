// The cases of the browser SRTP benchmark (bench/browser-srtp.mjs): unprotect of RTP packets (12-byte
// header + `payload` bytes, AES_CM_128_HMAC_SHA1_80, no MKI) protected beforehand by a sender
// SrtpContext. Every timed pass is checked after the clock stops: each output must equal the original
// packet's payload, and each case must refuse a packet with a flipped tag bit.
import { initCore, SrtpContext } from "../../dist/index.js";
import { NobleSrtp } from "../noble-srtp.mjs";
import { WebCryptoSrtp } from "./webcrypto-srtp.mjs";

const HEADER = 12;
const TAG = 10;
const SSRC = 0x11223344;

const random = (n) => crypto.getRandomValues(new Uint8Array(n));

/** One direction's session keys from the project's KDF (RFC 3711 §4.3, labels 0..2, r = 0). */
function sessionKeys(core, key, salt) {
  const aes = core.aesPool.acquire(), s = core.saltPool.acquire();
  core.setAesKey(aes, key);
  core.setSalt(s, salt);
  const keys = { encKey: core.srtpKdf(aes, s, 0, 0, 16), authKey: core.srtpKdf(aes, s, 1, 0, 20), salt: core.srtpKdf(aes, s, 2, 0, 14) };
  core.wipeAesKey(aes);
  core.wipeSalt(s);
  core.aesPool.release(aes);
  core.saltPool.release(s);
  return keys;
}

function checkPayload(name, i, plain, out) {
  let diff = out.length ^ (plain.length - HEADER);
  for (let j = 0; j < out.length && !diff; j++) diff = out[j] ^ plain[HEADER + j];
  if (diff) throw new Error(`${name}: packet ${i} did not decrypt to the original`);
}

/** The SRTP packet with its last tag byte changed. */
const forge = (p) => {
  const f = p.slice();
  f[f.length - 1] ^= 1;
  return f;
};

/**
 * Builds the packets and the cases. Each case's `run()` unprotects every packet once and returns
 * { ms, checked }; `rejectsForgery()` resolves true when the case refuses a forged packet.
 */
export async function prepare({ packets, payload, batch }) {
  // Sequence numbers 0..packets-1 under ROC 0: the baselines take the ROC from the caller.
  if (!(packets >= 1 && packets <= 65536)) throw new Error("packets: 1..65536 (one ROC)");
  const core = await initCore();
  const keys = [{ key: random(16), salt: random(14) }];
  const plain = Array.from({ length: packets }, (_, seq) => {
    const p = new Uint8Array(HEADER + payload);
    p.set([0x80, 96, seq >> 8, seq & 255, 0, 0, 0, 0, SSRC >>> 24, (SSRC >> 16) & 255, (SSRC >> 8) & 255, SSRC & 255]);
    p.set(random(payload), HEADER);
    return p;
  });
  const sender = new SrtpContext({ keys }, core);
  const srtp = plain.map((p) => {
    const b = new Uint8Array(p.length + sender.trailerLength);
    b.set(p);
    return b.subarray(0, sender.protect(b, p.length));
  });
  sender.close();
  const session = sessionKeys(core, keys[0].key, keys[0].salt);
  const time = async (name, pass, outputs) => {
    const t0 = performance.now();
    await pass();
    const ms = performance.now() - t0;
    for (let i = 0; i < packets; i++) checkPayload(name, i, plain[i], outputs(i));
    return { ms, checked: packets };
  };

  const cases = {};
  const work = srtp.map((p) => new Uint8Array(p.length));
  const lengths = new Int32Array(packets);
  cases.wasm = {
    run() {
      const rx = new SrtpContext({ keys }, core);
      return time("wasm", () => {
        for (let i = 0; i < packets; i++) {
          work[i].set(srtp[i]);
          lengths[i] = rx.unprotect(work[i], srtp[i].length);
        }
      }, (i) => work[i].subarray(HEADER, lengths[i])).finally(() => rx.close());
    },
    rejectsForgery() {
      const rx = new SrtpContext({ keys }, core), f = forge(srtp[0]);
      const refused = rx.tryUnprotect(f, f.length) < 0;
      rx.close();
      return refused;
    },
  };

  const stride = HEADER + payload + TAG;
  const area = new Uint8Array(packets * stride);
  const chunks = [];
  for (let first = 0; first < packets; first += batch) {
    const count = Math.min(batch, packets - first);
    chunks.push({ first, buffer: area.subarray(first * stride, (first + count) * stride), offsets: Int32Array.from({ length: count }, (_, j) => j * stride), lengths: new Int32Array(count) });
  }
  const chunkOf = (i) => chunks[Math.floor(i / batch)];
  cases[`wasm batch ${batch}`] = {
    run() {
      const rx = new SrtpContext({ keys }, core);
      return time(`wasm batch ${batch}`, () => {
        for (const c of chunks) {
          for (let j = 0; j < c.lengths.length; j++) {
            c.buffer.set(srtp[c.first + j], c.offsets[j]);
            c.lengths[j] = srtp[c.first + j].length;
          }
          rx.unprotectBatch(c);
        }
      }, (i) => {
        const c = chunkOf(i), j = i - c.first, len = c.lengths[j];
        if (len < 0) throw new Error(`wasm batch: packet ${i} refused (status ${-len})`);
        return c.buffer.subarray(c.offsets[j] + HEADER, c.offsets[j] + len);
      }).finally(() => rx.close());
    },
    rejectsForgery() {
      const rx = new SrtpContext({ keys }, core), f = forge(srtp[0]);
      const one = { buffer: f, offsets: new Int32Array(1), lengths: Int32Array.of(f.length) };
      rx.unprotectBatch(one);
      rx.close();
      return one.lengths[0] < 0;
    },
  };

  // The baselines return new arrays (null when refused): one array of outputs per case.
  const collected = (name, outs) => (i) => {
    if (!outs[i]) throw new Error(`${name}: packet ${i} refused`);
    return outs[i];
  };
  const webcrypto = await WebCryptoSrtp.create(session);
  const awaited = new Array(packets);
  cases["webcrypto await"] = {
    run: () => time("webcrypto await", async () => {
      for (let i = 0; i < packets; i++) awaited[i] = await webcrypto.unprotect(srtp[i]);
    }, collected("webcrypto await", awaited)),
    rejectsForgery: async () => (await webcrypto.unprotect(forge(srtp[0]))) === null,
  };
  const inFlight = new Array(packets);
  cases[`webcrypto in flight ${batch}`] = {
    run: () => time(`webcrypto in flight ${batch}`, async () => {
      for (const c of chunks) {
        const done = await Promise.all(srtp.slice(c.first, c.first + c.lengths.length).map((p) => webcrypto.unprotect(p)));
        for (let j = 0; j < done.length; j++) inFlight[c.first + j] = done[j];
      }
    }, collected(`webcrypto in flight ${batch}`, inFlight)),
    rejectsForgery: async () => (await Promise.all([srtp[1], forge(srtp[0])].map((p) => webcrypto.unprotect(p))))[1] === null,
  };

  const noble = new NobleSrtp(session);
  const nobleOuts = new Array(packets);
  cases.noble = {
    run: () => time("noble", () => {
      for (let i = 0; i < packets; i++) nobleOuts[i] = noble.unprotect(srtp[i], 0)?.subarray(HEADER);
    }, collected("noble", nobleOuts)),
    rejectsForgery: () => noble.unprotect(forge(srtp[0]), 0) === null,
  };

  return { flavor: core.flavor, cases };
}
