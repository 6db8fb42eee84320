// The main job, for now: load the WASM core, prove it against the published vectors, and time it.
// (Later issues replace this with the multicast streaming demo.)
import { loadCore, simdSupported } from "./wasm/index.js";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));

function check(name: string, got: string, want: string): boolean {
  const ok = got === want;
  console.log(`  ${ok ? "ok  " : "FAIL"} ${name}`);
  return ok;
}

function timePerCall(fn: () => void, calls = 20_000): number {
  for (let i = 0; i < 1000; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) fn();
  return ((performance.now() - t0) * 1e3) / calls;
}

let ok = true;
console.log(`mbms-srtp core demo — SIMD supported here: ${simdSupported()}`);
for (const flavor of ["simd", "scalar"] as const) {
  const core = loadCore({ flavor });
  console.log(`\n${flavor} build`);
  core.setAesKey(0, unhex("2b7e151628aed2a6abf7158809cf4f3c"));
  const stream = new Uint8Array(48);
  core.aesCmXor(0, unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfd0000"), stream);
  ok &&= check(
    "RFC 3711 B.2 AES-CM keystream",
    hex(stream),
    "e03ead0935c95e80e166b16dd92b4eb4d23513162b02d0f72a43a2fe4a5f97ab41e95b3bb0a2e8dd477901e4fca894c0",
  );
  core.setHmacKey(0, new TextEncoder().encode("Jefe"));
  const tag = core.hmacSha1(0, new TextEncoder().encode("what do ya want for nothing?"));
  ok &&= check("RFC 2202 HMAC-SHA1 case 2", hex(tag), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");

  core.arena.fill(7, 0, 16 + 1200 + 20);
  const aes = timePerCall(() => core.aesCmXorInArena(0, 0, 16, 1200));
  const mac = timePerCall(() => core.hmacSha1InArena(0, 16, 1200, 1216));
  console.log(`  AES-128-CM over 1200 bytes: ${aes.toFixed(2)} µs; HMAC-SHA1 over 1200 bytes: ${mac.toFixed(2)} µs`);
}
console.log(ok ? "\nall vectors match" : "\nVECTOR MISMATCH");
process.exitCode = ok ? 0 : 1;
