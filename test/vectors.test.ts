// Published vectors (test/vectors/kernels.json), on every backend: SIMD core, scalar core, reference.
import { describe, expect, it } from "vitest";
import vectors from "./vectors/kernels.json" with { type: "json" };
import { allBackends, hex, unhex, utf8 } from "./helpers/backends.js";

type Message = { messageUtf8?: string; repeatUtf8?: string; repeat?: number };
const message = (v: Message) => utf8(v.repeatUtf8 !== undefined ? v.repeatUtf8.repeat(v.repeat!) : v.messageUtf8!);
const hmacData = (v: { data?: string; dataUtf8?: string }) => (v.data !== undefined ? unhex(v.data) : utf8(v.dataUtf8!));

describe.each(allBackends)("$name", (backend) => {
  it.each(vectors.aesEcb)("AES ECB: $name", (v) => {
    expect(hex(backend.aesEcb(unhex(v.key), unhex(v.plaintext)))).toBe(v.ciphertext);
  });

  it.each(vectors.aesCmKeystream)("AES-CM keystream: $name (all $blocks blocks)", (v) => {
    const stream = backend.aesCm(unhex(v.key), unhex(v.iv), new Uint8Array(v.blocks * 16));
    expect(hex(stream.subarray(0, 48))).toBe(v.first);
    expect(hex(stream.subarray(stream.length - 48))).toBe(v.last);
  });

  it.each(vectors.sha1)("SHA-1: $name", (v) => {
    expect(hex(backend.sha1(message(v)))).toBe(v.digest);
  });

  it.each(vectors.hmacSha1)("HMAC-SHA1: $name", (v) => {
    expect(hex(backend.hmacSha1(unhex(v.key), hmacData(v)))).toBe(v.tag);
  });

  it("4-lane SHA-1 on the short FIPS vectors, in every lane position", () => {
    const short = vectors.sha1.filter((v) => v.repeat === undefined);
    const lanes = [0, 1, 2, 0].map((i) => short[i]!);
    expect(backend.sha1x4(lanes.map(message)).map(hex)).toEqual(lanes.map((v) => v.digest));
  });

  it("4-lane HMAC-SHA1 on RFC 2202 cases with a different key per lane", () => {
    const lanes = [vectors.hmacSha1[6]!, vectors.hmacSha1[0]!, vectors.hmacSha1[3]!, vectors.hmacSha1[1]!];
    const tags = backend.hmacSha1x4(lanes.map((v) => unhex(v.key)), lanes.map(hmacData));
    expect(tags.map(hex)).toEqual(lanes.map((v) => v.tag));
  });
});
