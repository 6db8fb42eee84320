// AES-256 Alternative 2 through the CLI: `demo --profile AES_256_CM_HMAC_SHA1_80 --derivation alt2` keys a service whose TGKs and TEKs are
// 32 bytes (SessionManager: the key length follows the profile); the sender protects with the profile of
// the service's TEK events, and both receivers (ME, and UICC with its card in a worker) must decrypt every
// packet through ≥ 3 TEK switches and a re-key, with no authentication failure. --profile takes only the
// four profile names. The receivers are told neither profile nor derivation: they take both from the key
// message (without that they derive AES-128, Alternative 1 keys and decrypt nothing).
// Runs dist/cli/main.js (build first). Bounded: < 25 s.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MAIN, cli } from "./helpers/processes.js";
import { expectEveryPacketDecrypted, type DemoReceiverJson } from "./helpers/demo-json.js";

interface DemoJson {
  ok: boolean;
  failures: string[];
  profile: string;
  derivation: string;
  sender: { packets: number; tekSwitches: number; keying: { withheld: number; installFailures: number } };
  receivers: DemoReceiverJson[];
}

describe("mbms-srtp demo --profile AES_256_CM_HMAC_SHA1_80 --derivation alt2", () => {
  it("ME and UICC receivers decrypt every packet through ≥ 3 TEK switches and a re-key, no authentication failure", async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
    const exit = await cli(["demo", "--profile", "AES_256_CM_HMAC_SHA1_80", "--derivation", "alt2", "--duration", "3", "--bitrate", "2M",
      "--tek-period", "300", "--tgk-lifetime", "1200", "--json"], 20_000).done;
    expect(exit.stderr).toBe("");
    const out = JSON.parse(exit.stdout) as DemoJson;
    expect([out.profile, out.derivation]).toEqual(["AES_256_CM_HMAC_SHA1_80", "alt2"]);
    expect(out.failures).toEqual([]);
    expect(out.ok).toBe(true);
    expect(exit.code).toBe(0);
    expect(out.sender.packets).toBeGreaterThan(300);
    expect(out.sender.tekSwitches).toBeGreaterThanOrEqual(3);
    expect({ withheld: out.sender.keying.withheld, installFailures: out.sender.keying.installFailures }).toEqual({ withheld: 0, installFailures: 0 });
    expectEveryPacketDecrypted(out.receivers, out.sender.packets);
  }, 25_000);

  it("an unknown --derivation is a usage error (demo, keyserver, send)", async () => {
    for (const args of [["demo"], ["keyserver"], ["send", "--dest", "127.0.0.1:5004"]]) {
      const exit = await cli([...args, "--derivation", "alt3"], 10_000).done;
      expect([args[0], exit.code, exit.stderr.includes("--derivation")]).toEqual([args[0], 2, true]);
    }
  }, 20_000);

  it("an unknown --profile is a usage error listing the four profiles", async () => {
    for (const args of [["demo"], ["keyserver"], ["send", "--dest", "127.0.0.1:5004"]]) {
      const exit = await cli([...args, "--profile", "AES_CM_256_HMAC_SHA1_80"], 10_000).done;
      expect(exit.code, args[0]).toBe(2);
      expect(exit.stderr).toBe(`mbms-srtp ${args[0]}: --profile: unknown SRTP profile "AES_CM_256_HMAC_SHA1_80" (one of AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AES_256_CM_HMAC_SHA1_80, AES_256_CM_HMAC_SHA1_32)\n`);
    }
  }, 20_000);
});
