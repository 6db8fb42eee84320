// Line rate: how fast can one `mbms-srtp send` multicast to N `mbms-srtp receive` with zero loss, with SRTP
// and with the same pipeline unencrypted (`--plain`), measured in the same run.
//
// Everything runs inside a network namespace this script creates (lo up, 224.0.0.0/4 on lo; deleted at the
// end, also on Ctrl-C): the sender multicasts synthetic RTP (1200-byte payload) to 239.1.2.3:5004, TEK_RAND2
// changes every second and the TGK every 4 s (so receivers switch keys and re-key during every trial); each
// receiver (ME mode) joins the group and checks every packet. A trial passes when every receiver decrypted
// every packet from its first to the sender's last (no gap, no tail loss, no auth failure) over at least
// LINERATE_SECONDS (default 10), and the sender kept up: it sent ≥ 99 % of the packets its rate schedules.
//
// Modes: srtp (the CLI), plain (the same CLI pipeline with --plain: same pacing, sockets and checks,
// no SRTP; the bar's baseline) and dgram (bare Node sockets, bench/linerate-dgram.mjs: the ceiling).
// Search, per N, the modes interleaved (dgram, plain, srtp, dgram, …) so all see the same machine: short
// doubling probes find a failing rate; then full-length trials bisect between the highest passing and the
// lowest failing rate until they are within LINERATE_RESOLUTION (default 1.1, i.e. 10 %). Every step (probe,
// bisection, CPU split) is BENCH_TRIALS trials (default 3) per mode, the rounds interleaved across the modes;
// a rate passes when most of its trials pass. Then every mode runs at one rate (the SRTP result) to split CPU
// per packet (process user + system time, all threads, kernel work charged to the process; medians over the
// full-length trials at that rate, counting receivers that ran the whole trial): socket I/O = dgram;
// pipeline = plain − dgram; crypto = srtp − plain (SRTP and key switching); the same with the dgram-I/O
// modes. A progress line on stderr says where the search is.
//
// --crypto-workers N (default 0: in-thread crypto): the SRTP modes' sender protects in a pool of N worker
// threads (`send --crypto-workers N`; its I/O thread paces, admits and sends), the receivers still decrypt
// in their I/O thread; the output names the crypto mode, and the results and chart are
// linerate-crypto-workers-N.json/.svg, so such a run never replaces the in-thread ones.
//
// Needs root and iproute2. Without them (LINERATE_NETNS=0) it runs unicast on 127.0.0.1 with N = 1.
// Writes bench/results/linerate.json and the chart docs/charts/linerate.svg (bench/linerate-chart.mjs; with
// --crypto-workers N: linerate-crypto-workers-N.json and .svg).
// Args: [--crypto-workers N].  Env: LINERATE_RECEIVERS=1,2  LINERATE_SECONDS=10  LINERATE_START_PPS  LINERATE_RESOLUTION  LINERATE_MODES  BENCH_TRIALS.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { machine, median, progress, TRIALS, writeChart } from "./harness.mjs";
import { linerateChart } from "./linerate-chart.mjs";

const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const SECONDS = Number(process.env.LINERATE_SECONDS ?? 10);
const PROBE_SECONDS = 2;
const PAYLOAD = 1200;
const RTP_BYTES = 12 + PAYLOAD;
const START_PPS = Number(process.env.LINERATE_START_PPS ?? 16_000);
const MAX_PPS = 1_000_000;
const RESOLUTION = Number(process.env.LINERATE_RESOLUTION ?? 1.1);
const SERVICE = "urn:mbms:linerate:1";
const canNetns = process.env.LINERATE_NETNS !== "0" && process.getuid?.() === 0 && hasIp();
const RECEIVERS = canNetns ? (process.env.LINERATE_RECEIVERS ?? "1,2").split(",").map(Number) : [1];
const NS = `mbms-linerate-${randomBytes(3).toString("hex")}`;
const GROUP = canNetns ? "239.1.2.3" : "127.0.0.1";
const PORT = 5004;
// dgram: bare sockets (the ceiling); plain: the pipeline without SRTP (the bar's baseline); srtp. The CLI's
// sockets use the native batched I/O (sendmmsg + GSO, recvmmsg) when the addon is built; "plain:dgram" and
// "srtp:dgram" are the same pipelines with --io dgram (node:dgram), the I/O dimension. LINERATE_MODES=… picks.
const MODES = (process.env.LINERATE_MODES ?? "dgram,plain,srtp,plain:dgram,srtp:dgram").split(",");
const KEY_PORT = 18600;
const workersArg = process.argv.indexOf("--crypto-workers");
const CRYPTO_WORKERS = workersArg > 0 ? Number(process.argv[workersArg + 1]) : 0;
if (!(Number.isInteger(CRYPTO_WORKERS) && CRYPTO_WORKERS >= 0 && CRYPTO_WORKERS <= 64)) throw new RangeError(`--crypto-workers must be an integer in 0..64 (got ${process.argv[workersArg + 1]})`);
const CRYPTO_MODE = CRYPTO_WORKERS === 0 ? "in-thread crypto" : `SRTP sender's crypto in ${CRYPTO_WORKERS} worker thread${CRYPTO_WORKERS > 1 ? "s" : ""}, receivers' in-thread`;
const OUTPUT = CRYPTO_WORKERS === 0 ? "linerate" : `linerate-crypto-workers-${CRYPTO_WORKERS}`;

function hasIp() {
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const ip = (...args) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 5_000 });
let nsCreated = false;
function cleanup() {
  if (nsCreated) {
    nsCreated = false;
    try {
      ip("netns", "del", NS);
    } catch {
      // already gone
    }
  }
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

const DGRAM = fileURLToPath(new URL("./linerate-dgram.mjs", import.meta.url));

/** Starts a node script (inside the namespace when there is one); resolves its first line and its exit. */
function node(script, args) {
  const cmd = canNetns ? ["ip", ["netns", "exec", NS, process.execPath, script, ...args]] : [process.execPath, [script, ...args]];
  const child = spawn(cmd[0], cmd[1], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let onFirst;
  const firstLine = new Promise((r) => (onFirst = r));
  child.stdout.on("data", (d) => {
    stdout += d;
    if (stdout.includes("\n")) onFirst(stdout.slice(0, stdout.indexOf("\n")));
  });
  child.stderr.on("data", (d) => (stderr += d));
  const kill = setTimeout(() => child.kill("SIGKILL"), (SECONDS + 30) * 1000);
  const done = new Promise((resolve) => child.on("close", (code) => {
    clearTimeout(kill);
    onFirst("");
    resolve({ code, stdout, stderr });
  }));
  return { child, firstLine, done };
}

const lastJson = (s) => JSON.parse(s.trim().split("\n").at(-1));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const users = Array.from({ length: Math.max(...RECEIVERS) }, (_, i) => ({ userId: `sip:ue-${i}@linerate.invalid`, kek: randomBytes(16).toString("hex") }));
const dir = mkdtempSync(join(tmpdir(), "mbms-linerate-"));
const config = join(dir, "config.json");
writeFileSync(config, JSON.stringify({ services: [{ serviceId: SERVICE, tekRand2PeriodMs: 1000, tgkLifetimeMs: 4000 }], users }), { mode: 0o600 });
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
// Each UE's options in a 0600 file: KEKs stay off the command lines (ps).
const ueConfigs = users.map((u, i) => {
  const path = join(dir, `ue-${i}.json`);
  writeFileSync(path, JSON.stringify({
    "key-server": `http://127.0.0.1:${KEY_PORT}`, service: SERVICE, user: u.userId, kek: u.kek, mode: "me", "packet-size": PAYLOAD, json: true,
  }), { mode: 0o600 });
  return path;
});

/**
 * One trial: a sender at `pps` for `seconds` (+ the receivers' start-up) and `n` receivers. Modes: srtp (the
 * CLI), plain (the CLI with --plain: same pacing, sockets and checks, no SRTP), dgram (bare sockets).
 */
async function trial(mode, n, pps, seconds, round) {
  progress(`N=${n}  ${mode} at ${pps} pkt/s for ${seconds} s, trial ${round + 1}/${TRIALS}  (${new Date().toISOString().slice(11, 19)})`);
  const sendFor = String(seconds + 1.5);
  const [kind, io] = mode.split(":");
  const ioArgs = io ? ["--io", io] : [];
  const plain = kind === "plain" ? ["--plain", ...ioArgs] : CRYPTO_WORKERS > 0 ? ["--crypto-workers", String(CRYPTO_WORKERS), ...ioArgs] : ioArgs;
  const send = mode === "dgram"
    ? node(DGRAM, ["tx", GROUP, String(PORT), String(pps), sendFor])
    : node(CLI, ["send", "--dest", `${GROUP}:${PORT}`, "--config", config, "--bitrate", String(Math.round(pps * RTP_BYTES * 8)),
      "--packet-size", String(PAYLOAD), "--duration", sendFor, "--key-port", String(KEY_PORT), "--json", ...plain]);
  const first = await send.firstLine;
  if (!first.startsWith("key server ")) throw new Error(`send did not start: ${first}\n${(await send.done).stderr}`);
  const listen = canNetns ? ["--group", `${GROUP}:${PORT}`] : ["--port", String(PORT)];
  if (mode !== "dgram" && first !== `key server http://127.0.0.1:${KEY_PORT}`) throw new Error(`unexpected key server: ${first}`);
  const rx = ueConfigs.slice(0, n).map((ueConfig) => mode === "dgram"
    ? node(DGRAM, ["rx", GROUP, String(PORT)])
    // --plain takes no keying options (the UE's config file holds them): a usage error otherwise.
    : node(CLI, ["receive", ...listen, ...ioArgs, ...(kind === "plain" ? ["--plain", "--packet-size", String(PAYLOAD), "--json"] : ["--config", ueConfig])]));
  const s = await send.done;
  await sleep(300);
  for (const r of rx) r.child.kill("SIGINT");
  const rs = await Promise.all(rx.map((r) => r.done));
  if (s.code !== 0) throw new Error(`send exited ${s.code}: ${s.stderr}`);
  const sent = lastJson(s.stdout).sender;
  const receivers = rs.map((r) => {
    // A receiver that could not run (on a loaded machine: started too late to fetch its keys) fails the trial;
    // the step's other trials decide the rate.
    if (r.code === null || r.stderr) return { ok: false, error: r.stderr.trim().split("\n")[0] || `exit ${r.code}`, missing: "?", authFailed: "?", switches: "?" };
    const x = lastJson(r.stdout);
    const windowS = (x.lastPacket - x.firstPacket + 1) / pps;
    const ok = x.delivered > 0 && x.lost === 0 && x.authFailed === 0 && x.badPackets === 0 && x.lastPacket === sent.packets - 1 &&
      x.delivered === sent.packets - x.firstPacket && windowS >= seconds;
    return { ok, delivered: x.delivered, missing: sent.packets - x.firstPacket - x.delivered, authFailed: x.authFailed, windowS: +windowS.toFixed(2),
      switches: x.switches, rekeys: x.rekeys, cpuUsPerPacket: x.cpu?.usPerPacket };
  });
  // The sender must have kept up with the nominal rate too: a sender that falls behind its schedule sends
  // fewer packets, which its receivers may well all get.
  const achieved = sent.packets / (pps * Number(sendFor));
  const ok = achieved >= 0.99 && receivers.every((r) => r.ok);
  const row = {
    mode, receivers: n, pps, rtpMbps: +(pps * RTP_BYTES * 8 / 1e6).toFixed(1), seconds, ok, sent: sent.packets, achieved: +achieved.toFixed(3), tekSwitches: sent.tekSwitches,
    senderCpuUsPerPacket: sent.cpu?.usPerPacket, receiver: receivers,
  };
  const cpu = receivers.map((r) => r.cpuUsPerPacket?.toFixed(2)).join("/");
  progress.log(`  ${mode.padEnd(11)} N=${n} ${String(pps).padStart(7)} pkt/s ${row.rtpMbps.toFixed(0).padStart(5)} Mbit/s ${seconds} s: ${ok ? "zero loss" : "LOSS"}` +
    ` (sent ${(achieved * 100).toFixed(1)} %, missing ${receivers.map((r) => r.missing).join("/")}, auth-fail ${receivers.map((r) => r.authFailed).join("/")}, switches ${receivers.map((r) => r.switches).join("/")})` +
    `  cpu µs/pkt send ${sent.cpu?.usPerPacket?.toFixed(2)} recv ${cpu}${receivers.filter((r) => r.error).map((r) => `  receiver failed: ${r.error}`).join("")}`);
  return row;
}

/** One step: each [mode, pps] TRIALS times, round by round across the modes; per mode, whether most trials passed. */
async function step(steps, n, seconds, trials) {
  const runs = steps.map(() => []);
  for (let round = 0; round < TRIALS; round++) {
    for (const [i, [mode, pps]] of steps.entries()) runs[i].push(await trial(mode, n, pps, seconds, round));
  }
  trials.push(...runs.flat());
  return runs.map((r) => r.filter((t) => t.ok).length > TRIALS / 2);
}

/**
 * CPU µs per packet of a mode at a rate: the medians over all full-length trials of it at that rate (the
 * search's and the split's), the receivers pooled. A receiver counts only if it received for the whole trial:
 * one that started late charges its start-up (WASM compile, keying) to a few packets.
 */
function cpuAt(trials, mode, pps) {
  const ts = trials.filter((t) => t.mode === mode && t.pps === pps && t.seconds === SECONDS);
  const numbers = (xs) => xs.filter((x) => typeof x === "number");
  return {
    sender: round2(median(numbers(ts.map((t) => t.senderCpuUsPerPacket)))),
    receiver: round2(median(numbers(ts.flatMap((t) => t.receiver.filter((r) => r.windowS >= t.seconds).map((r) => r.cpuUsPerPacket))))),
  };
}

/** Highest zero-loss rate of each mode for `n` receivers, the modes' trials interleaved. */
async function search(n, trials) {
  const state = Object.fromEntries(MODES.map((m) => [m, { lo: 0, hi: 0, confirmed: false }]));
  // Probes: double from START_PPS until a short trial loses.
  for (let pps = START_PPS, open = MODES; open.length > 0 && pps <= MAX_PPS; pps *= 2) {
    const verdicts = await step(open.map((m) => [m, pps]), n, PROBE_SECONDS, trials);
    open.forEach((mode, i) => {
      if (verdicts[i]) state[mode].lo = pps;
      else state[mode].hi = pps;
    });
    open = open.filter((m) => state[m].hi === 0);
  }
  // Full-length trials: confirm the low end (halving on loss), then bisect.
  for (const m of MODES) {
    if (state[m].hi === 0) state[m].hi = MAX_PPS;
    if (state[m].lo === 0) state[m].lo = Math.round(state[m].hi / 2);
  }
  const next = (m) => {
    const st = state[m];
    if (!st.confirmed) return st.lo;
    return st.hi / st.lo > RESOLUTION && st.lo > 0 ? Math.round(Math.sqrt(st.lo * st.hi)) : undefined;
  };
  for (;;) {
    const steps = MODES.map((m) => [m, next(m)]).filter(([, p]) => p !== undefined);
    if (steps.length === 0) break;
    const verdicts = await step(steps, n, SECONDS, trials);
    for (const [i, [m, pps]] of steps.entries()) {
      const st = state[m];
      if (verdicts[i]) {
        st.lo = pps;
        st.confirmed = true;
      } else {
        st.hi = pps;
        if (!st.confirmed) st.lo = Math.round(pps / 2);
        if (st.lo < 1000) {
          st.lo = 0;
          st.confirmed = true;
        }
      }
    }
  }
  return Object.fromEntries(MODES.map((m) => [m, state[m].lo]));
}

if (canNetns) {
  ip("netns", "add", NS);
  nsCreated = true;
  ip("-n", NS, "link", "set", "lo", "up");
  ip("-n", NS, "link", "set", "lo", "multicast", "on");
  ip("-n", NS, "route", "add", "224.0.0.0/4", "dev", "lo");
}
console.log(`line rate: ${canNetns ? `multicast ${GROUP}:${PORT} in namespace ${NS}` : "unicast 127.0.0.1 (no namespace)"}, ` +
  `${RTP_BYTES}-byte RTP packets, TEK_RAND2 every 1 s, ${CRYPTO_MODE}, ${SECONDS} s trials, ${TRIALS} per step, node ${process.version}, ${cpus().length}x ${cpus()[0]?.model ?? "cpu"}`);
const results = [];
const rate = (pps) => ({ pps, rtpMbps: +(pps * RTP_BYTES * 8 / 1e6).toFixed(1) });
const round2 = (x) => (typeof x === "number" && Number.isFinite(x) ? +x.toFixed(2) : null);
for (const n of RECEIVERS) {
  console.log(`\nN = ${n} receiver${n > 1 ? "s" : ""}`);
  const trials = [];
  const best = await search(n, trials);
  // CPU split: every mode at one rate, the SRTP zero-loss rate (or the plain one if SRTP never passed).
  const at = best.srtp || best.plain;
  const cpu = { sender: {}, receiver: {} };
  await step(MODES.map((m) => [m, at]), n, SECONDS, trials);
  for (const m of MODES) {
    const c = cpuAt(trials, m, at);
    cpu.sender[m] = c.sender;
    cpu.receiver[m] = c.receiver;
  }
  const minus = (a, b) => (typeof a === "number" && typeof b === "number" ? round2(a - b) : null);
  for (const side of Object.values(cpu)) {
    side.socketIo = side.dgram ?? null;
    side.pipeline = minus(side.plain, side.dgram);
    side.crypto = minus(side.srtp, side.plain);
    side.pipelineDgramIo = minus(side["plain:dgram"], side.dgram);
    side.cryptoDgramIo = minus(side["srtp:dgram"], side["plain:dgram"]);
  }
  const result = {
    receivers: n,
    zeroLoss: { ...Object.fromEntries(MODES.map((m) => [m, rate(best[m])])), srtpOverPlain: best.plain ? +(best.srtp / best.plain).toFixed(3) : null },
    cpuUsPerPacket: { atPps: at, ...cpu },
    trials,
  };
  results.push(result);
  progress.end();
  console.log(`N=${n} (${CRYPTO_MODE}): highest zero-loss rate — bare dgram ${best.dgram} pkt/s (${rate(best.dgram).rtpMbps} Mbit/s), plain pipeline ${best.plain} pkt/s ` +
    `(${rate(best.plain).rtpMbps} Mbit/s), SRTP ${best.srtp} pkt/s (${rate(best.srtp).rtpMbps} Mbit/s): SRTP/plain = ${result.zeroLoss.srtpOverPlain}`);
  for (const [side, c] of Object.entries(cpu)) {
    console.log(`  ${side} CPU µs/packet at ${at} pkt/s: socket I/O ${c.socketIo} + pipeline ${c.pipeline} + crypto ${c.crypto} = ${c.srtp}`);
  }
  for (const m of MODES.filter((x) => x.includes(":"))) {
    const native = m.split(":")[0];
    console.log(`  ${m}: ${best[m]} pkt/s zero loss (native I/O / this: ${best[m] ? (best[native] / best[m]).toFixed(2) : "–"}); CPU µs/packet send ${cpu.sender[m]} recv ${cpu.receiver[m]}` +
      ` (native ${cpu.sender[native]} / ${cpu.receiver[native]})`);
  }
}

const summary = { machine: machine(), date: new Date().toISOString(), netns: canNetns, cryptoWorkers: CRYPTO_WORKERS, rtpBytes: RTP_BYTES, seconds: SECONDS, trialsPerStep: TRIALS, resolution: RESOLUTION, results };
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/${OUTPUT}.json`, import.meta.url), JSON.stringify(summary, null, 2) + "\n");
console.log(`\n→ bench/results/${OUTPUT}.json (${CRYPTO_MODE})`);
writeChart(OUTPUT, linerateChart(summary));
