// SRTP benchmark: protect / unprotect (single and batch), payloads 160/1200/1400, AES_CM_128_HMAC_SHA1_80
// without MKI and with a 12-byte MKI; rejection and key-install costs. In the same run: a node:crypto
// SRTP, werift-rtp, @noble/ciphers + @noble/hashes and libsrtp through the native addon (when built).
// Prints a table, writes bench/results/srtp.json as [{impl, op, payloadBytes, mki, nsPerPacket, trialsNs}] and
// draws docs/charts/srtp.svg (12 + 1200 bytes, no MKI: every implementation's protect and unprotect).
import { randomBytes } from "node:crypto";
import { ProtectionProfileAes128CmHmacSha1_80, RtpHeader, SrtpSession } from "werift-rtp";
import { loadCore, SrtpContext } from "../dist/index.js";
import { runSuite, TRIALS, writeChart, writeResults } from "./harness.mjs";
import { costChart } from "./cost-chart.mjs";
import { NodeCryptoSrtp, sessionKeys } from "../reference/node-crypto-srtp.mjs";
import { NobleSrtp } from "./noble-srtp.mjs";

const libsrtp = await import("../native/libsrtp/index.js").catch(() => null);
if (!libsrtp) console.log("libsrtp addon not built (npm run build:libsrtp): its rows are left out\n");

const SIZES = [160, 1200, 1400];
const RING = 4096; // pre-protected packets per ring; receivers are renewed when it wraps
const BATCH = 32; // packets per batch call
const SSRC = 0x11223344;
const master = { key: randomBytes(16), salt: randomBytes(14) };
const cores = { "wasm-simd": loadCore({ flavor: "simd" }), "wasm-scalar": loadCore({ flavor: "scalar" }) };

function rtp(seq, payload) {
  const p = Buffer.concat([Buffer.alloc(12), randomBytes(payload)]);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(seq, 2);
  p.writeUInt32BE(SSRC, 8);
  return p;
}

/** A benchmark loop over a ring of inputs, renewing state (`renew`) whenever the ring wraps. */
function ringLoop(ring, step, renew) {
  let i = 0;
  return () => {
    if (i === ring.length) {
      i = 0;
      renew();
    }
    step(ring[i++]);
  };
}

const cases = [];
for (const payload of SIZES) {
  for (const mkiBytes of [0, 12]) {
    const mki = mkiBytes ? randomBytes(mkiBytes) : undefined;
    const keys = [{ ...master, mki }];
    const plain = rtp(0, payload);
    const work = Buffer.alloc(plain.length + 200);
    const add = (impl, op, fn, perOp = 1) => cases.push({ impl, primitive: op, bytes: payload, mki: mkiBytes, note: mkiBytes ? `mki ${mkiBytes}` : "", fn, perOp });

    // The ring every receiver decrypts: sequence numbers 0..RING-1 under ROC 0.
    const sender = new SrtpContext({ keys }, cores["wasm-simd"]);
    const ring = Array.from({ length: RING }, (_, seq) => {
      const b = Buffer.alloc(plain.length + 64);
      rtp(seq, 0).copy(b, 0, 0, 12);
      plain.copy(b, 12, 12);
      return b.subarray(0, sender.protect(b, plain.length));
    });
    sender.close();

    for (const [impl, core] of Object.entries(cores)) {
      const tx = new SrtpContext({ keys }, core);
      let seq = 0;
      add(impl, "protect", () => {
        work.set(plain);
        work[2] = seq >> 8;
        work[3] = seq;
        seq = (seq + 1) & 0xffff;
        tx.protect(work, plain.length);
      });
      let rx = new SrtpContext({ keys }, core);
      add(impl, "unprotect", ringLoop(ring, (p) => {
        work.set(p);
        rx.unprotect(work, p.length);
      }, () => {
        rx.close();
        rx = new SrtpContext({ keys }, core);
      }));
    }

    // Batch API: BATCH packets per call, laid out at a fixed stride in one buffer; cost per packet.
    for (const [impl, core] of Object.entries(cores)) {
      const stride = plain.length + 64;
      const batch = { buffer: new Uint8Array(BATCH * stride), offsets: Int32Array.from({ length: BATCH }, (_, i) => i * stride), lengths: new Int32Array(BATCH) };
      const tx = new SrtpContext({ keys }, core);
      let seq = 0;
      add(`${impl} batch`, "protect", () => {
        for (let i = 0; i < BATCH; i++) {
          batch.buffer.set(plain, i * stride);
          batch.buffer[i * stride + 2] = seq >> 8;
          batch.buffer[i * stride + 3] = seq;
          seq = (seq + 1) & 0xffff;
          batch.lengths[i] = plain.length;
        }
        tx.protectBatch(batch);
      }, BATCH);
      let rx = new SrtpContext({ keys }, core);
      let next = 0;
      add(`${impl} batch`, "unprotect", () => {
        if (next + BATCH > ring.length) {
          next = 0;
          rx.close();
          rx = new SrtpContext({ keys }, core);
        }
        for (let i = 0; i < BATCH; i++) {
          const p = ring[next++];
          batch.buffer.set(p, i * stride);
          batch.lengths[i] = p.length;
        }
        rx.unprotectBatch(batch);
      }, BATCH);
    }

    // node:crypto, straightforward (new cipher and HMAC per packet).
    const ref = new NodeCryptoSrtp({ ...master, mki });
    let refSeq = 0;
    add("node:crypto", "protect", () => {
      plain[2] = refSeq >> 8;
      plain[3] = refSeq;
      refSeq = (refSeq + 1) & 0xffff;
      ref.protect(plain, 0);
    });
    add("node:crypto", "unprotect", ringLoop(ring, (p) => ref.unprotect(p, 0), () => {}));

    if (libsrtp) {
      const policy = (direction) => ({
        profile: "AES_CM_128_HMAC_SHA1_80", direction,
        keys: [{ key: Buffer.concat([master.key, master.salt]), mki }],
      });
      const lsTx = new libsrtp.Session(policy("outbound"));
      let lsSeq = 0;
      const lsWork = Buffer.alloc(plain.length + libsrtp.SRTP_MAX_TRAILER_LEN);
      add("libsrtp (addon)", "protect", () => {
        lsWork.set(plain);
        lsWork[2] = lsSeq >> 8;
        lsWork[3] = lsSeq;
        lsSeq = (lsSeq + 1) & 0xffff;
        lsTx.protect(lsWork, plain.length);
      });
      let lsRx = new libsrtp.Session(policy("inbound"));
      add("libsrtp (addon)", "unprotect", ringLoop(ring, (p) => {
        lsWork.set(p);
        lsRx.unprotect(lsWork, p.length);
      }, () => {
        lsRx.close();
        lsRx = new libsrtp.Session(policy("inbound"));
      }));
    }

    if (!mki) {
      // Peers without MKI support.
      const werift = new SrtpSession({
        keys: { localMasterKey: master.key, localMasterSalt: master.salt, remoteMasterKey: master.key, remoteMasterSalt: master.salt },
        profile: ProtectionProfileAes128CmHmacSha1_80,
      });
      const header = RtpHeader.deSerialize(plain);
      const body = plain.subarray(12);
      add("werift-rtp", "protect", () => {
        header.sequenceNumber = (header.sequenceNumber + 1) & 0xffff;
        werift.encrypt(body, header);
      });
      let weriftRx = new SrtpSession(werift.config);
      add("werift-rtp", "unprotect", ringLoop(ring, (p) => weriftRx.decrypt(p), () => {
        weriftRx = new SrtpSession(werift.config);
      }));
      const noble = new NobleSrtp(sessionKeys(master.key, master.salt, 0));
      add("@noble (ciphers+hashes)", "protect", () => noble.protect(plain, 0));
      add("@noble (ciphers+hashes)", "unprotect", ringLoop(ring, (p) => noble.unprotect(p, 0), () => {}));
    }

    if (payload === 1200) {
      // What refusing a packet costs, and what installing a key costs (the price of an MKI switch).
      const core = cores["wasm-simd"];
      const rx = new SrtpContext({ keys }, core);
      const forged = Buffer.from(ring[1]);
      forged[forged.length - 1] ^= 1;
      add("wasm-simd", "reject: bad tag", () => rx.tryUnprotect(forged, forged.length));
      rx.unprotect(Buffer.from(ring[0]));
      add("wasm-simd", "reject: replay", () => rx.tryUnprotect(ring[0], ring[0].length));
      if (mki) {
        const unknown = Buffer.from(ring[2]);
        unknown[unknown.length - 11] ^= 1; // last MKI byte (10-byte tag after it)
        add("wasm-simd", "reject: unknown MKI", () => rx.tryUnprotect(unknown, unknown.length));
        const other = { key: randomBytes(16), salt: randomBytes(14), mki: randomBytes(12) };
        add("wasm-simd", "key install (addKey + removeKey)", () => {
          rx.addKey(other);
          rx.removeKey(other.mki);
        });
      }
    }
  }
}

const rows = runSuite(cases).map((r, i) => ({
  impl: r.impl, op: r.primitive, payloadBytes: r.bytes, mki: cases[i].mki, nsPerPacket: r.nsPerOp, trialsNs: r.trialsNs,
}));
writeResults("srtp", rows);

const at = (impl, op) => rows.find((r) => r.impl === impl && r.op === op && r.payloadBytes === 1200 && r.mki === 0)?.nsPerPacket;
console.log("\nRatios at 12 + 1200 bytes, no MKI (higher = WASM faster):");
for (const op of ["protect", "unprotect"]) {
  for (const ours of ["wasm-simd", "wasm-simd batch"]) {
    for (const peer of ["node:crypto", "libsrtp (addon)", "werift-rtp", "@noble (ciphers+hashes)"]) {
      const w = at(ours, op), p = at(peer, op);
      if (w && p) console.log(`  ${op.padEnd(10)} ${ours.padEnd(16)} vs ${peer.padEnd(24)} ${(p / w).toFixed(2)}x`);
    }
  }
}

const NAMES = {
  "wasm-simd batch": "ours, SIMD, batch of 32", "wasm-simd": "ours, SIMD, 1 per call", "wasm-scalar batch": "ours, scalar, batch of 32",
  "wasm-scalar": "ours, scalar, 1 per call", "libsrtp (addon)": "libsrtp 2 (addon)", "node:crypto": "node:crypto", "werift-rtp": "werift-rtp",
  "@noble (ciphers+hashes)": "@noble ciphers+hashes",
};
const ratio = (peer, op) => {
  const w = at("wasm-simd batch", op), p = at(peer, op);
  return w && p ? `${(p / w).toFixed(2)}×` : "–";
};
writeChart("srtp", costChart({
  title: "SRTP AES_CM_128_HMAC_SHA1_80, 12 + 1200-byte packets, no MKI",
  note: `Per packet, ${TRIALS} trials of benchmark.js per case, all implementations interleaved in one process` +
    `${libsrtp ? "" : " (libsrtp addon not built: no libsrtp bars)"}. Same run: SIMD batch vs libsrtp ${ratio("libsrtp (addon)", "protect")} protect, ` +
    `${ratio("libsrtp (addon)", "unprotect")} unprotect; vs node:crypto ${ratio("node:crypto", "protect")} / ${ratio("node:crypto", "unprotect")}.`,
  groups: Object.values(NAMES),
  series: ["protect", "unprotect"],
  cells: rows.filter((r) => r.payloadBytes === 1200 && r.mki === 0 && NAMES[r.impl]).map((r) => ({ group: NAMES[r.impl], series: r.op, nsPerOp: r.nsPerPacket, trialsNs: r.trialsNs })),
}));
