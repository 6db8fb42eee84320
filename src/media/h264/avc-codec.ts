// What the depacketizer needs to know of H.264 itself (ITU-T H.264 §7.3–7.4): NAL unit types, the codec
// string of a sequence parameter set, and the last SPS and PPS seen, for key frames sent without them.

/** nal_unit_type values (H.264 Table 7-1) and the RTP payload structures of RFC 6184 Table 3. */
export const NalType = {
  Slice: 1,
  PartitionB: 3,
  PartitionC: 4,
  Idr: 5,
  Sps: 7,
  Pps: 8,
  Aud: 9,
  StapA: 24,
  FuA: 28,
} as const;

const hex2 = (b: number): string => b.toString(16).toUpperCase().padStart(2, "0");

/**
 * `avc1.PPCCLL` for an SPS NAL unit (header byte included): profile_idc, the constraint_set flags byte and
 * level_idc as hex (RFC 6381 §3.3). These are the three bytes after the header: fixed-length fields that
 * precede every Exp-Golomb field, and no emulation prevention byte can fall among them (profile_idc ≠ 0).
 * Undefined when `sps` is not an SPS or too short.
 */
export function avcCodecString(sps: Uint8Array): string | undefined {
  if (sps.length < 4 || (sps[0]! & 0x1f) !== NalType.Sps) return undefined;
  return `avc1.${hex2(sps[1]!)}${hex2(sps[2]!)}${hex2(sps[3]!)}`;
}

/** The last SPS and PPS seen (copies), and the codec string of that SPS. */
export class ParameterSets {
  sps: Uint8Array | undefined;
  pps: Uint8Array | undefined;
  codec: string | undefined;

  /** Records the complete NAL unit `buf[start..end)` when it is an SPS or PPS; copies only when it changed. */
  note(buf: Uint8Array, start: number, end: number): void {
    const type = buf[start]! & 0x1f;
    if (type === NalType.Sps) {
      if (same(this.sps, buf, start, end)) return;
      this.sps = buf.slice(start, end);
      this.codec = avcCodecString(this.sps);
    } else if (type === NalType.Pps && !same(this.pps, buf, start, end)) this.pps = buf.slice(start, end);
  }

  clear(): void {
    this.sps = this.pps = this.codec = undefined;
  }
}

function same(kept: Uint8Array | undefined, buf: Uint8Array, start: number, end: number): boolean {
  if (kept === undefined || kept.length !== end - start) return false;
  for (let i = 0; i < kept.length; i++) if (kept[i] !== buf[start + i]) return false;
  return true;
}
