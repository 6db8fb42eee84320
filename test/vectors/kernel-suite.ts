// test/vectors/kernels.json on one backend: FIPS-197 AES, RFC 3711/6188 AES-CM keystreams, FIPS 180 SHA-1,
// RFC 2202 HMAC-SHA1, and the 4-lane SHA-1 / HMAC-SHA1 on those vectors.
import { hex, unhex, utf8 } from "./hex.js";
import type { KernelBackend } from "./kernel-backend.js";
import type { PublishedVectors } from "./published.js";
import { check, type VectorResult } from "./result.js";

type Kernels = PublishedVectors["kernels"];
type Message = Kernels["sha1"][number];
type HmacCase = Kernels["hmacSha1"][number];

const message = (v: Message) => utf8(v.repeatUtf8 !== undefined ? v.repeatUtf8.repeat(v.repeat!) : v.messageUtf8!);
const hmacData = (v: HmacCase) => (v.data !== undefined ? unhex(v.data) : utf8(v.dataUtf8!));

export function kernelVectors(backend: KernelBackend, vectors: Kernels): VectorResult[] {
  const suite = "kernels";
  const short = vectors.sha1.filter((v) => v.repeat === undefined);
  const shaLanes = [0, 1, 2, 0].map((i) => short[i]!);
  const hmacLanes = [6, 0, 3, 1].map((i) => vectors.hmacSha1[i]!);
  return [
    ...vectors.aesEcb.map((v) => check(suite, `AES ECB: ${v.name}`, v.ciphertext, () => hex(backend.aesEcb(unhex(v.key), unhex(v.plaintext))))),
    ...vectors.aesCmKeystream.map((v) => check(suite, `AES-CM keystream: ${v.name} (all ${v.blocks} blocks)`, { first: v.first, last: v.last }, () => {
      const stream = backend.aesCm(unhex(v.key), unhex(v.iv), new Uint8Array(v.blocks * 16));
      return { first: hex(stream.subarray(0, 48)), last: hex(stream.subarray(stream.length - 48)) };
    })),
    ...vectors.sha1.map((v) => check(suite, `SHA-1: ${v.name}`, v.digest, () => hex(backend.sha1(message(v))))),
    ...vectors.hmacSha1.map((v) => check(suite, `HMAC-SHA1: ${v.name}`, v.tag, () => hex(backend.hmacSha1(unhex(v.key), hmacData(v))))),
    check(suite, "4-lane SHA-1 on the short FIPS vectors, in every lane position", shaLanes.map((v) => v.digest),
      () => backend.sha1x4(shaLanes.map(message)).map(hex)),
    check(suite, "4-lane HMAC-SHA1 on RFC 2202 cases with a different key per lane", hmacLanes.map((v) => v.tag),
      () => backend.hmacSha1x4(hmacLanes.map((v) => unhex(v.key)), hmacLanes.map(hmacData)).map(hex)),
  ];
}
