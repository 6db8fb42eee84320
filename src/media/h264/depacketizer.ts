// H.264 over RTP (RFC 6184, packetization-mode 1) to Annex B access units for WebCodecs' VideoDecoder
// (no `description`: SPS/PPS travel in-band, before each IDR). Browser-safe: no Node built-ins.
//
// push() → RTP header (RFC 3550 §5.1) → reorder buffer → payload (single NAL unit, STAP-A, FU-A:
// RFC 6184 §5.6–5.8) → access unit, which ends at the marker bit or when the timestamp changes (§5.1).
// Loss policy: an AU with a hole, or whose start may be lost, is not emitted; after any loss nothing is
// emitted until an intact IDR AU (a lost packet may have held a reference picture). Bad input is counted
// and dropped, never thrown; memory is bounded by the reorder window and the access-unit bound.
import { readSsrc, rtpHeaderLength, rtpSequence, rtpTimestamp } from "../../srtp/rtp-header.js";
import { AccessUnitBuilder } from "./access-unit.js";
import { NalType, ParameterSets } from "./avc-codec.js";
import { H264Error } from "./errors.js";
import { RtpReorderBuffer } from "./rtp-reorder.js";

export interface H264AccessUnit {
  /** RTP timestamp (90 kHz) extended past its 32-bit wrap. */
  timestamp: number;
  /** Contains an IDR slice; SPS and PPS are in `data`. */
  key: boolean;
  /** Annex B: 00 00 00 01 before each NAL unit. A fresh array the receiver may keep. */
  data: Uint8Array;
  /** `avc1.PPCCLL` of the SPS (RFC 6381 §3.3), on key AUs. */
  codec?: string;
}

export interface H264DepacketizerOptions {
  onAccessUnit: (au: H264AccessUnit) => void;
  /** Packets the reorder buffer holds (a power of two, 1..1024; 1 = no reordering). Default 64. */
  reorderPackets?: number;
  /** Largest access unit assembled (bytes, 1 KiB..256 MiB); a larger one is dropped. Default 4 MiB. */
  maxAccessUnitBytes?: number;
  /** Only this RTP payload type (0..127) is accepted, others count as unsupported. Default: any. */
  payloadType?: number;
}

export interface H264DepacketizerStats {
  /** push() calls. */
  packets: number;
  /** Arrived after a higher sequence number, in time to be used. */
  reordered: number;
  duplicates: number;
  /** Arrived after the playout point had passed them. */
  late: number;
  /** Sequence numbers given up on. */
  lost: number;
  /** Bad RTP header or padding, or a payload that breaks RFC 6184 (STAP lengths, FU order, S and E both set). */
  malformed: number;
  /** Another SSRC than the first or another payload type than configured; STAP-B, MTAP, FU-B, types 0/30/31. */
  unsupported: number;
  accessUnits: number;
  keyFrames: number;
  /** Access units not emitted: incomplete, or while waiting for a key frame. */
  framesDropped: number;
  /** Annex B bytes emitted. */
  bytes: number;
  /** Nothing is emitted until the next intact IDR access unit. */
  waitingForKeyFrame: boolean;
}

/** RTP over UDP cannot be larger; anything larger is not a packet. */
const MAX_PACKET_BYTES = 65_535;

export class H264Depacketizer {
  private readonly onAccessUnit: (au: H264AccessUnit) => void;
  private readonly payloadType: number | undefined;
  private readonly reorder: RtpReorderBuffer;
  private readonly params = new ParameterSets();
  private readonly au: AccessUnitBuilder;
  private readonly counts = { packets: 0, malformed: 0, unsupported: 0, accessUnits: 0, keyFrames: 0, framesDropped: 0, bytes: 0 };
  private waiting = true;
  private ssrc = -1;
  /** Extended sequence number of the last packet handed on by the reorder buffer (-1: none yet). */
  private lastSeq = -1;
  private timestamp = 0;
  private timestampKnown = false;

  constructor(options: H264DepacketizerOptions) {
    const { onAccessUnit, reorderPackets = 64, maxAccessUnitBytes = 4 * 1024 * 1024, payloadType } = options;
    if (typeof onAccessUnit !== "function") throw new H264Error("ERR_CONFIG", "onAccessUnit must be a function");
    if (!Number.isInteger(reorderPackets) || reorderPackets < 1 || reorderPackets > 1024 || (reorderPackets & (reorderPackets - 1)) !== 0) {
      throw new H264Error("ERR_CONFIG", `reorderPackets ${reorderPackets}: a power of two from 1 to 1024`);
    }
    if (!Number.isInteger(maxAccessUnitBytes) || maxAccessUnitBytes < 1024 || maxAccessUnitBytes > 256 * 1024 * 1024) {
      throw new H264Error("ERR_CONFIG", `maxAccessUnitBytes ${maxAccessUnitBytes}: an integer from 1024 to 268435456`);
    }
    if (payloadType !== undefined && (!Number.isInteger(payloadType) || payloadType < 0 || payloadType > 127)) {
      throw new H264Error("ERR_CONFIG", `payloadType ${payloadType}: an integer from 0 to 127`);
    }
    this.onAccessUnit = onAccessUnit;
    this.payloadType = payloadType;
    this.au = new AccessUnitBuilder(maxAccessUnitBytes, this.params);
    this.reorder = new RtpReorderBuffer(reorderPackets, (buf, start, end, ext, ts, marker) => this.packet(buf, start, end, ext, ts, marker));
  }

  get stats(): H264DepacketizerStats {
    return { ...this.counts, ...this.reorder.stats, waitingForKeyFrame: this.waiting };
  }

  /** One decrypted RTP packet. `rtp` is read before push() returns, never kept: the caller may reuse it. */
  push(rtp: Uint8Array): void {
    this.counts.packets++;
    const len = rtp.length;
    const header = len > MAX_PACKET_BYTES ? -1 : rtpHeaderLength(rtp, 0, len);
    if (header < 0) {
      this.counts.malformed++;
      return;
    }
    let end = len;
    if (rtp[0]! & 0x20) {
      // The last octet counts the padding, itself included (RFC 3550 §5.1).
      const pad = rtp[len - 1]!;
      if (pad === 0 || header + pad > len) {
        this.counts.malformed++;
        return;
      }
      end -= pad;
    }
    if (end === header) {
      this.counts.malformed++;
      return;
    }
    const ssrc = readSsrc(rtp, 8);
    if (this.ssrc < 0) this.ssrc = ssrc;
    if (ssrc !== this.ssrc || (this.payloadType !== undefined && (rtp[1]! & 0x7f) !== this.payloadType)) {
      this.counts.unsupported++;
      return;
    }
    this.reorder.push(rtp, header, end, rtpSequence(rtp, 0), rtpTimestamp(rtp, 0), (rtp[1]! & 0x80) !== 0);
  }

  /** End of stream: hands on what the reorder buffer holds and closes the access unit in progress. */
  flush(): void {
    this.reorder.flush();
    if (this.au.open) this.finish();
  }

  /** Forgets the stream (SSRC, sequence, timestamps, parameter sets, counters): the next packet starts anew. */
  reset(): void {
    this.reorder.reset();
    this.params.clear();
    this.au.open = false;
    this.waiting = true;
    this.ssrc = this.lastSeq = -1;
    this.timestampKnown = false;
    for (const k of Object.keys(this.counts) as (keyof typeof this.counts)[]) this.counts[k] = 0;
  }

  /** A packet in sequence order, from the reorder buffer. */
  private packet(buf: Uint8Array, start: number, end: number, ext: number, ts32: number, marker: boolean): void {
    const gap = this.lastSeq >= 0 && ext !== this.lastSeq + 1;
    this.lastSeq = ext;
    const timestamp = this.extendTimestamp(ts32);
    const au = this.au;
    if (gap) {
      // The lost packets may hold the rest of the open AU, the start of the next, or a whole picture.
      this.waiting = true;
      if (au.open) {
        if (au.fuOpen) au.abortNal();
        au.broken = true;
      }
    }
    if (au.open && timestamp !== au.timestamp) this.finish();
    if (!au.open) au.begin(timestamp, gap);
    this.payload(buf, start, end);
    if (marker) this.finish();
  }

  /** The RTP timestamp extended past its 32-bit wrap by the signed 32-bit step from the previous one. */
  private extendTimestamp(ts32: number): number {
    if (!this.timestampKnown) {
      this.timestampKnown = true;
      this.timestamp = ts32;
    } else this.timestamp += (ts32 - (this.timestamp >>> 0)) | 0;
    return this.timestamp;
  }

  private payload(buf: Uint8Array, start: number, end: number): void {
    const type = buf[start]! & 0x1f;
    if (type >= NalType.Slice && type < NalType.StapA) this.single(buf, start, end);
    else if (type === NalType.StapA) this.stapA(buf, start, end);
    else if (type === NalType.FuA) this.fuA(buf, start, end);
    else {
      this.counts.unsupported++;
      // STAP-B, MTAP16/24, FU-B carry picture data we cannot use. Types 0, 30 and 31 are undefined in
      // RFC 6184 (Table 3) and used by extensions (RFC 6190's PACSI): skipping them loses nothing.
      if (type >= 25 && type <= 29) this.au.broken = true;
    }
  }

  /** A NAL unit begun outside an FU while one is open: the FU lost its end. */
  private interruptFu(): void {
    if (!this.au.fuOpen) return;
    this.counts.malformed++;
    this.au.abortNal();
  }

  private single(buf: Uint8Array, start: number, end: number): void {
    this.interruptFu();
    this.nal(buf, start, end);
  }

  private nal(buf: Uint8Array, start: number, end: number): void {
    const au = this.au;
    if (!au.beginNal(buf[start]!)) return;
    if (au.append(buf, start + 1, end)) au.endNal();
    else au.abortNal();
  }

  /** STAP-A (RFC 6184 §5.7.1): 16-bit size, NAL unit, … Checked whole before any of it is used. */
  private stapA(buf: Uint8Array, start: number, end: number): void {
    this.interruptFu();
    let p = start + 1;
    let units = 0;
    while (p < end) {
      const size = p + 2 <= end ? (buf[p]! << 8) | buf[p + 1]! : 0;
      const type = size > 0 ? buf[p + 2]! & 0x1f : 0;
      // Aggregated units are NAL units proper (types 1–23), never another aggregate or fragment.
      if (size === 0 || p + 2 + size > end || type === 0 || type >= NalType.StapA) {
        this.counts.malformed++;
        this.au.broken = true;
        return;
      }
      p += 2 + size;
      units++;
    }
    if (units === 0) {
      this.counts.malformed++;
      this.au.broken = true;
      return;
    }
    for (p = start + 1; p < end; ) {
      const size = (buf[p]! << 8) | buf[p + 1]!;
      this.nal(buf, p + 2, p + 2 + size);
      p += 2 + size;
    }
  }

  /** FU-A (RFC 6184 §5.8): the NAL header is rebuilt from the FU indicator's F/NRI and the FU header's type. */
  private fuA(buf: Uint8Array, start: number, end: number): void {
    const au = this.au;
    if (end - start < 2) {
      this.counts.malformed++;
      if (au.fuOpen) au.abortNal();
      au.broken = true;
      return;
    }
    const indicator = buf[start]!;
    const fu = buf[start + 1]!;
    const first = (fu & 0x80) !== 0;
    const last = (fu & 0x40) !== 0;
    const type = fu & 0x1f;
    // S and E must not both be set (§5.8); an FU carries a NAL unit proper, never an aggregate or fragment.
    if ((first && last) || type === 0 || type >= NalType.StapA) {
      this.counts.malformed++;
      if (au.fuOpen) au.abortNal();
      au.broken = true;
      return;
    }
    if (first) {
      this.interruptFu();
      if (!au.beginNal((indicator & 0xe0) | type)) return;
      au.fuOpen = true;
    } else if (!au.fuOpen) {
      // A middle or end fragment whose start was not seen: lost (counted already) or out of thin air.
      if (!au.broken && !au.afterGap) this.counts.malformed++;
      au.broken = true;
      return;
    }
    if (!au.append(buf, start + 2, end)) {
      au.abortNal();
      return;
    }
    if (last) {
      au.fuOpen = false;
      au.endNal();
    }
  }

  /** Closes the AU in progress and emits it if it is intact and decodable from here. */
  private finish(): void {
    const au = this.au;
    au.open = false;
    if (au.fuOpen) {
      // Its last fragment ended neither the NAL unit nor came before the AU ended.
      if (!au.broken) this.counts.malformed++;
      au.abortNal();
    }
    if (!au.hasVcl && !au.broken) return; // parameter sets or SEI alone: no picture (SPS/PPS kept)
    const intact = !au.broken && au.hasVcl && (!au.afterGap || au.startsPicture);
    const params = this.params;
    const decodable = au.idr ? (au.hasSps || params.sps) && (au.hasPps || params.pps) && params.codec : !this.waiting;
    if (!intact || !decodable) {
      this.counts.framesDropped++;
      this.waiting = true;
      return;
    }
    const data = au.idr ? au.output(au.hasSps ? undefined : params.sps, au.hasPps ? undefined : params.pps) : au.output(undefined, undefined);
    this.waiting = false;
    this.counts.accessUnits++;
    this.counts.bytes += data.length;
    if (au.idr) {
      this.counts.keyFrames++;
      this.onAccessUnit({ timestamp: au.timestamp, key: true, data, codec: params.codec });
    } else this.onAccessUnit({ timestamp: au.timestamp, key: false, data });
  }
}
