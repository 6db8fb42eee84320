/** The values of the CLI's options that are numbers or addresses, checked: a bad one is a UsageError naming the option. */
import type { UdpIo } from "../net/batch-udp.js";
import { UsageError } from "./usage-error.js";
import { parseOrigin } from "../origin.js";

/** `value` as a number in min..max (suffixes k, M, G: 20M = 20e6), or `fallback` when absent. */
export function numberOption(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(value.trim());
  if (!m) throw new UsageError(`--${name}: not a number: ${value}`);
  const mult = { "": 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  const n = Number(m[1]) * mult;
  if (!(n >= min && n <= max)) throw new UsageError(`--${name} must be ${min}..${max}`);
  return n;
}

/** `--duration` in seconds: Infinity (until a signal) when absent. */
export const durationOption = (value: string | undefined): number =>
  value === undefined ? Infinity : numberOption("duration", value, 0, 0.1, 86_400 * 365);

/** An IPv4:PORT address. */
export function hostPortOption(name: string, v: string): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`--${name}: expected IPv4:PORT, got ${v}`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** A repeatable option of web origins, each value one or several separated by commas: the origins, checked. */
export function originsOption(name: string, values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  return values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "").map((v) => {
    const origin = parseOrigin(v);
    if (origin === undefined) throw new UsageError(`--${name}: not an http(s) origin (scheme://host[:port]): ${v}`);
    return origin;
  });
}

/** `--io native|dgram`: the sockets' I/O; absent: native when the addon is loaded (src/net/batch-udp.ts). */
export function ioOption(v: string | undefined): UdpIo | undefined {
  if (v === undefined || v === "native" || v === "dgram") return v;
  throw new UsageError(`--io must be native or dgram, not ${v}`);
}
