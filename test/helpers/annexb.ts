// Annex B byte streams (ITU-T H.264 Annex B) split into NAL units, for the H.264 depacketizer tests.

/** The NAL units of an Annex B stream (3- or 4-byte start codes; zero bytes between units dropped). */
export function nalUnits(stream: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  return starts.map((s, k) => {
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : stream.length;
    while (end > s && stream[end - 1] === 0) end--;
    return stream.subarray(s, end);
  });
}

/** nal_unit_type of each NAL unit. */
export const nalTypes = (units: Uint8Array[]): number[] => units.map((u) => u[0]! & 0x1f);

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
