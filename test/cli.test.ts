// The `mbms-srtp` CLI (src/cli): `demo` runs a BM-SC, a 20 Mbit/s SRTP sender and two receivers (ME and
// UICC with its card in a worker) on 127.0.0.1 in one child process; we check its --json result and exit
// status. Runs the compiled dist/cli/main.js (CI builds before the tests). Bounded: < 40 s in all.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { expectEveryPacketDecrypted, type DemoReceiverJson } from "./helpers/demo-json.js";

const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs: number, interruptAfterMs?: number): Promise<Run> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -p tsconfig.json, or npm run build)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    const kill = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    // Interrupt once the demo is streaming (its first status line), so the SIGINT handler is installed.
    let interrupt: ReturnType<typeof setTimeout> | undefined;
    if (interruptAfterMs !== undefined) {
      child.stdout.once("data", () => (interrupt = setTimeout(() => child.kill("SIGINT"), interruptAfterMs)));
    }
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(kill);
      if (interrupt) clearTimeout(interrupt);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("mbms-srtp CLI", () => {
  it("demo --duration 4 --json: both receivers decrypt every packet through ≥ 3 key switches and a re-key", async () => {
    const r = await run(["demo", "--duration", "4", "--json"], 25_000);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { ok: boolean; failures: string[]; sender: { packets: number; tekSwitches: number }; receivers: DemoReceiverJson[] };
    expect(out.failures).toEqual([]);
    expect(out.ok).toBe(true);
    expect(r.code).toBe(0);
    // ~20 Mbit/s of 1212-byte RTP packets for 4 s: about 8250 packets.
    expect(out.sender.packets).toBeGreaterThan(6000);
    expectEveryPacketDecrypted(out.receivers, out.sender.packets);
  }, 30_000);

  it("demo past 64 TEK periods: the sender rotates on schedule (the first version stopped at 64 and said ok)", async () => {
    const r = await run(["demo", "--duration", "8", "--bitrate", "2M", "--tek-period", "100", "--tgk-lifetime", "1000", "--json"], 25_000);
    const out = JSON.parse(r.stdout) as {
      ok: boolean; failures: string[];
      sender: { packets: number; tekSwitches: number; keying: { tekSwitchesExpected: number; withheld: number; installFailures: number; peakInstalledKeys: number } };
      receivers: DemoReceiverJson[];
    };
    expect(out.failures).toEqual([]);
    expect(out.ok).toBe(true);
    expect(r.code).toBe(0);
    const k = out.sender.keying;
    expect(k.tekSwitchesExpected).toBeGreaterThanOrEqual(79); // 8 s / 100 ms, plus TGK changes
    expect(Math.abs(out.sender.tekSwitches - k.tekSwitchesExpected)).toBeLessThanOrEqual(1);
    expect(k.withheld).toBe(0);
    expect(k.installFailures).toBe(0);
    expect(k.peakInstalledKeys).toBeLessThanOrEqual(2);
    for (const x of out.receivers) {
      expect(x.delivered, x.name).toBe(out.sender.packets);
      expect(x.switches, x.name).toBeGreaterThan(64);
    }
  }, 30_000);

  it("demo stops cleanly on SIGINT and still prints the summary", async () => {
    const r = await run(["demo", "--duration", "60", "--bitrate", "2M"], 12_000, 300);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ue-me .*delivered (\d+)\/\1/);
    expect(r.stdout).toMatch(/ue-uicc .*delivered (\d+)\/\1/);
    expect(r.stdout).toContain("(interrupted)");
  }, 15_000);

  it("--help exits 0 for the tool and every subcommand; bad usage exits 2", async () => {
    for (const args of [["--help"], ["demo", "--help"], ["send", "--help"], ["receive", "--help"], ["keyserver", "--help"]]) {
      const r = await run(args, 5_000);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toContain("Usage: mbms-srtp");
    }
    expect((await run(["demo", "--bogus"], 5_000)).code).toBe(2);
    expect((await run(["nope"], 5_000)).code).toBe(2);
  }, 15_000);
});
