// docs/mikey-profile.md's annotated example is real: rebuilt from the documented inputs, byte for byte.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { EXT_TYPE_SEALED_KEY_IDS, buildMbmsKeyMessage, loadCore, openMbmsKeyMessage, openPskMessage } from "../src/index.js";

const seq = (start: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 255);
const DAY = 86_400_000;

it("docs/mikey-profile.md: the annotated MBMS key message is what buildMbmsKeyMessage produces", () => {
  const doc = readFileSync(join(import.meta.dirname, "..", "docs", "mikey-profile.md"), "utf8");
  const block = doc.slice(doc.indexOf("## Annotated example"));
  const documented = block.slice(block.indexOf("```") + 3, block.indexOf("```", block.indexOf("```") + 3)).replace(/\s/g, "");
  const now = Date.UTC(2026, 10, 27, 12, 0, 0);
  const input = {
    kek: seq(0, 16), bmscId: "bmsc.example", userId: "ue-1", serviceId: "svc-1", csbId: 0x12345678, tekRand: seq(0x20, 16),
    profile: "AES_CM_128_HMAC_SHA1_80" as const, streams: [{ ssrc: 0xcafebabe, roc: 0 }], nowMs: now,
    tgks: [
      { tgkId: 1, tgk: seq(0x10, 16), validFrom: now, expiresAt: now + DAY },
      { tgkId: 2, tgk: seq(0x30, 16), validFrom: now + DAY, expiresAt: now + 2 * DAY },
    ],
  };
  const core = loadCore();
  const bytes = buildMbmsKeyMessage(input, core);
  expect(Buffer.from(bytes).toString("hex")).toBe(documented);
  const opened = openMbmsKeyMessage(bytes, { kek: input.kek, nowMs: now }, core);
  expect(opened.tgks.map((t) => t.tgkId)).toEqual([1, 2]);
  // The sealed extension's plaintext is the Key ID list the field table spells out.
  const sealed = openPskMessage(bytes, { psk: input.kek, nowMs: now, sealedExtensionTypes: [EXT_TYPE_SEALED_KEY_IDS] }, core).sealedExtensions;
  const row = block.slice(block.indexOf("the Key ID list, encrypted under ext_key"));
  const spelled = [...row.slice(0, row.indexOf("\n")).matchAll(/`([0-9a-f]+|svc-1)`/g)].map((m) => (m[1] === "svc-1" ? Buffer.from("svc-1").toString("hex") : m[1]));
  // `00` `05` `svc-1`, then "per TGK `f1` `14`" and the two TGKs' 4 + 8 + 8 bytes.
  const [head, perTgk, tgk1, tgk2] = [spelled.slice(0, 3), spelled.slice(3, 5), spelled.slice(5, 8), spelled.slice(8, 11)];
  const expected = [...head, ...perTgk, ...tgk1, ...perTgk, ...tgk2].join("");
  expect(sealed.map((e) => Buffer.from(e.data).toString("hex"))).toEqual([expected]);
});
