// SIGINT and SIGTERM, the same for every long-running command (src/cli/signals.ts): the first stops the run
// as at its normal end — summary or JSON printed, exit status that of the run (0: ok so far) — within a
// bound; a second exits at once with 128 + the signal's number (130, 143), without the summary.
// keyserver, send + receive (ME mode, unicast on 127.0.0.1) and demo, each stopped by each signal.
// Runs dist/cli/main.js (build first). Bounded: every process is killed after 20 s; < 60 s in all.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, freeUdpPort, lastJson, type Proc, type SendSummary } from "./helpers/processes.js";
import { cliSuite } from "./helpers/cli-suite.js";
import type { BmscResult } from "../src/cli/bmsc.js";

/** From the signal to the process's end: the stop closes sockets, the card worker and the key server. */
const STOP_BOUND_MS = 5000;
const SERVICE = "urn:mbms:signals:1";
const USER = "sip:ue@signals.invalid";
const KEK = randomBytes(16).toString("hex");

const { jsonFile } = cliSuite("mbms-signals-");
let bmscConfig = "";
beforeAll(() => {
  bmscConfig = jsonFile("bmsc.json", {
    services: [{ serviceId: SERVICE, tekRand2PeriodMs: 500, tgkLifetimeMs: 4000 }],
    users: [{ userId: USER, kek: KEK }],
  });
});

/** Sends `signal` and checks the process ended cleanly with status 0 within the bound; its stdout. */
async function stopGracefully(p: Proc, signal: NodeJS.Signals): Promise<string> {
  const t0 = Date.now();
  p.child.kill(signal);
  const exit = await p.done;
  expect(exit.stderr).toBe("");
  expect(exit.code).toBe(0);
  expect(Date.now() - t0).toBeLessThan(STOP_BOUND_MS);
  return exit.stdout;
}

/** The BM-SC's --json summary of a run stopped by a signal. */
const expectInterruptedOk = (out: BmscResult) =>
  expect({ ok: out.ok, interrupted: out.interrupted, failures: out.failures }).toEqual({ ok: true, interrupted: true, failures: [] });

/** A UE config file (keys off the command line) for the key server at `url`. */
function ueConfig(url: string): string {
  return jsonFile(`ue-${randomBytes(4).toString("hex")}.json`, { "key-server": url, user: USER, kek: KEK, service: SERVICE, "tek-period": 500 });
}

describe.each(["SIGTERM", "SIGINT"] as const)("the first %s stops gracefully", (signal) => {
  it("keyserver --json: the JSON summary, interrupted, exit 0", async () => {
    const ks = cli(["keyserver", "--config", bmscConfig, "--json"], 20_000);
    expect((await ks.firstLine).line).toMatch(/^key server http:\/\/127\.0\.0\.1:\d+$/);
    expectInterruptedOk(lastJson<BmscResult>(await stopGracefully(ks, signal)));
  }, 25_000);

  it("receive (text) and send --json: both summaries, interrupted, every packet so far decrypted, exit 0", async () => {
    const port = await freeUdpPort();
    const send = cli(["send", "--dest", `127.0.0.1:${port}`, "--config", bmscConfig, "--bitrate", "2M", "--json"], 20_000);
    const url = /^key server (http:\S+)$/.exec((await send.firstLine).line)?.[1];
    expect(url).toBeDefined();
    const receive = cli(["receive", "--port", String(port), "--config", ueConfig(url!)], 20_000);
    // A status line with packets: keyed and decrypting.
    expect(await receive.line(/^ue-me\s+[1-9]\d* pkts/)).not.toBe("");

    expect(await stopGracefully(receive, signal)).toMatch(/ME receiver sip:ue@signals\.invalid on 127\.0\.0\.1:\d+: delivered [1-9]\d* .*lost 0, auth failures 0, .*\(interrupted\)\nOK\n$/);

    const out = lastJson<SendSummary>(await stopGracefully(send, signal));
    expectInterruptedOk(out);
    expect(out.sender.packets).toBeGreaterThan(0);
  }, 25_000);

  it("demo: the summary, both receivers decrypted every packet sent, exit 0", async () => {
    const demo = cli(["demo", "--duration", "60", "--bitrate", "2M"], 20_000);
    expect(await demo.line(/^ue-uicc /)).not.toBe(""); // streaming: the first status lines
    const stdout = await stopGracefully(demo, signal);
    expect(stdout).toMatch(/^mbms-srtp demo: .*\(interrupted\)/m);
    expect(stdout).toMatch(/ue-me .*delivered (\d+)\/\1/);
    expect(stdout).toMatch(/ue-uicc .*delivered (\d+)\/\1/);
    expect(stdout).toMatch(/^OK: /m);
  }, 25_000);
});

describe.each([["SIGTERM", 143], ["SIGINT", 130]] as const)("a second %s", (signal, code) => {
  it(`exits at once with ${code}, without the summary (demo, whose stop takes ≥ 200 ms)`, async () => {
    const demo = cli(["demo", "--duration", "60", "--bitrate", "2M"], 20_000);
    expect(await demo.line(/^ue-uicc /)).not.toBe("");
    const t0 = Date.now();
    demo.child.kill(signal);
    await new Promise((r) => setTimeout(r, 50));
    demo.child.kill(signal);
    const exit = await demo.done;
    expect(exit.code).toBe(code);
    expect(Date.now() - t0).toBeLessThan(STOP_BOUND_MS);
    expect(exit.stdout).not.toMatch(/^mbms-srtp demo: /m);
  }, 25_000);
});
