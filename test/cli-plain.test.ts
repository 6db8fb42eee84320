// `receive --plain` (unprotected RTP from `send --plain`, a benchmark baseline) needs no credentials: it used
// to demand --key-server, --user and --kek, which it never uses. Given one (on the command line or in the
// --config file) it is a usage error naming it, rather than silently ignored.
// Runs dist/cli/main.js (build first). Bounded: every process is killed after 15 s.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, freeUdpPort, lastJson, type ReceiveSummary, type SendSummary } from "./helpers/processes.js";
import { cliSuite } from "./helpers/cli-suite.js";

const { jsonFile } = cliSuite("mbms-plain-");
let bmscConfig = "";
beforeAll(() => {
  bmscConfig = jsonFile("bmsc.json", { services: [{ serviceId: "urn:mbms:plain:1" }], users: [] });
});

describe("mbms-srtp receive --plain", () => {
  it("with no key options receives every packet of send --plain", async () => {
    const port = await freeUdpPort();
    const receive = cli(["receive", "--port", String(port), "--plain", "--packet-size", "200"], 15_000);
    expect(await receive.line(/^receiving on 127\.0\.0\.1:\d+ \(PLAIN\)$/)).not.toBe("");
    const send = await cli(["send", "--dest", `127.0.0.1:${port}`, "--config", bmscConfig, "--plain", "--bitrate", "1M",
      "--packet-size", "200", "--duration", "1", "--json"], 15_000).done;
    expect(send.code).toBe(0);
    const sent = lastJson<SendSummary>(send.stdout).sender.packets;
    await new Promise((r) => setTimeout(r, 300)); // packets in flight
    receive.child.kill("SIGINT");
    const exit = await receive.done;
    expect(exit.stderr).toBe("");
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(new RegExp(`PLAIN receiver on 127\\.0\\.0\\.1:${port}: delivered ${sent} \\(packets 0\\.\\.${sent - 1}\\), lost 0, auth failures 0`));
  }, 20_000);

  it("--json reports mode PLAIN and no user", async () => {
    const exit = await cli(["receive", "--port", String(await freeUdpPort()), "--plain", "--duration", "0.2", "--json"], 15_000).done;
    expect(exit.stderr).toBe("");
    const out = lastJson<ReceiveSummary>(exit.stdout);
    expect({ mode: out.mode, userId: out.userId, delivered: out.delivered }).toEqual({ mode: "PLAIN", userId: undefined, delivered: 0 });
    expect(exit.code).toBe(1); // nothing received is not ok
  }, 20_000);

  it("with key options given (flags or --config) is a usage error naming the unused ones", async () => {
    const port = String(await freeUdpPort());
    const flags = await cli(["receive", "--port", port, "--plain", "--user", "sip:ue@x.invalid", "--key-server", "http://127.0.0.1:9"], 15_000).done;
    expect(flags.code).toBe(2);
    expect(flags.stderr).toBe("mbms-srtp receive: --plain (unprotected RTP, no keying) does not use --key-server, --user\n");
    const kek = randomBytes(16).toString("hex");
    const ue = jsonFile("ue.json", { kek, mode: "uicc" });
    const file = await cli(["receive", "--port", port, "--plain", "--config", ue], 15_000).done;
    expect(file.code).toBe(2);
    expect(file.stderr).toBe("mbms-srtp receive: --plain (unprotected RTP, no keying) does not use --kek, --mode\n");
    expect(file.stderr).not.toContain(kek);
    const srtpProfile = await cli(["receive", "--port", port, "--plain", "--srtp-profile", "AES_CM_128_HMAC_SHA1_32"], 15_000).done;
    expect(srtpProfile.code).toBe(2);
    expect(srtpProfile.stderr).toBe("mbms-srtp receive: --srtp-profile needs --srtp-key-file\n");
  }, 20_000);
});
