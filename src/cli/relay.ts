/**
 * `mbms-srtp relay`: runs the browser relay (../net/relay-server.ts) until --duration or a signal, with a
 * status line a second and a summary (or one JSON object) at the end. It holds no key: SRTP datagrams go
 * to the pages as they came. With --web it serves the package's web/ folder at / and dist/ at /dist/ (the
 * page loads the library's modules and WASM from there), resolved from this file, not the working directory.
 */
import { fileURLToPath } from "node:url";
import { startRelay, type RelayOptions, type RelayStats } from "../net/relay-server.js";
import type { WebOptions } from "../net/static-files.js";
import type { ReceiverConfig } from "../browser/protocol.js";
import { RunWindow } from "./run-window.js";

/** The package's root: this file is dist/cli/relay.js (or src/cli/relay.ts under the tests). */
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The page's folders and its config.json (only the keys given: all are public). */
export function packageWeb(config: { keyServer?: string; serviceId?: string } & Pick<ReceiverConfig, "rotationPeriodMs" | "keyClient" | "evaluator">): WebOptions {
  return { mounts: [{ prefix: "/", dir: `${PACKAGE_ROOT}web` }, { prefix: "/dist/", dir: `${PACKAGE_ROOT}dist` }], config };
}

export interface RunRelayOptions extends RelayOptions {
  durationS: number;
  json: boolean;
  out: NodeJS.WriteStream;
  signal?: AbortSignal;
}

type Totals = Pick<RelayStats, "clients" | "packetsIn" | "bytesIn" | "packetsOut" | "drops" | "closedSlow" | "refusedOrigin" | "refusedFull">;

export interface RelayResult extends Totals {
  udp: string;
  ws: string;
  page?: string;
  allowedOrigins: readonly string[];
  durationS: number;
  interrupted: boolean;
}

const mbit = (bytes: number, ms: number) => (bytes * 8) / 1e3 / Math.max(1, ms);

export function relayLine(s: RelayStats, mbps: number, seconds: number): string {
  return `relay   clients ${s.clients}  in ${s.packetsIn} pkts ${s.packetsInPerSecond}/s ${mbps.toFixed(1)} Mbit/s  out ${s.packetsOut}  drops ${s.drops}  closed-slow ${s.closedSlow}  refused origin ${s.refusedOrigin} full ${s.refusedFull}  t=${seconds.toFixed(1)} s`;
}

export async function runRelay(o: RunRelayOptions): Promise<RelayResult> {
  const relay = await startRelay(o);
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  try {
    const udp = `${relay.udp.address}:${relay.udp.port}`;
    // First line, also with --json: where pages (and tests) connect.
    o.out.write(`relay: udp ${udp} -> ${relay.wsUrl}${o.web ? ` (page ${relay.httpUrl})` : ""}\n`);
    const t0 = Date.now();
    if (!o.json) {
      let prev = { at: t0, bytes: 0 };
      statusTimer = setInterval(() => {
        const now = Date.now();
        const s = relay.stats();
        const mbps = mbit(s.bytesIn - prev.bytes, now - prev.at);
        prev = { at: now, bytes: s.bytesIn };
        o.out.write(relayLine(s, mbps, (now - t0) / 1000) + "\n");
      }, 1000);
    }
    const run = new RunWindow(o.durationS, o.signal);
    await run.done;
    const s = relay.stats();
    return {
      udp, ws: relay.wsUrl, ...(o.web ? { page: relay.httpUrl } : {}), allowedOrigins: relay.allowedOrigins,
      durationS: (Date.now() - t0) / 1000, interrupted: run.interrupted,
      clients: s.clients, packetsIn: s.packetsIn, bytesIn: s.bytesIn, packetsOut: s.packetsOut, drops: s.drops,
      closedSlow: s.closedSlow, refusedOrigin: s.refusedOrigin, refusedFull: s.refusedFull,
    };
  } finally {
    if (statusTimer) clearInterval(statusTimer);
    await relay.close();
  }
}

export function relaySummary(r: RelayResult): string {
  return `relay udp ${r.udp} -> ${r.ws}: ${r.packetsIn} datagrams in (${r.bytesIn} bytes, ${mbit(r.bytesIn, r.durationS * 1000).toFixed(1)} Mbit/s), ${r.packetsOut} messages out, ${r.drops} drops, ${r.closedSlow} clients closed as too slow, refused ${r.refusedOrigin} (origin) ${r.refusedFull} (full), ${r.clients} clients at the end, ${r.durationS.toFixed(1)} s${r.interrupted ? " (interrupted)" : ""}`;
}
