// Child processes for the suites that drive the CLI (and ffmpeg): stdout lines as they come, the exit with
// everything printed, a SIGKILL after each one's timeout and for all of them from killChildren (afterAll);
// a free UDP port on 127.0.0.1; the last JSON line of a --json summary.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BmscResult } from "../../src/cli/bmsc.js";
import type { ReceiveResult } from "../../src/cli/receive.js";

/** The built CLI (npm run build). */
export const MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Proc {
  child: ChildProcess;
  done: Promise<Exit>;
  /** The first stdout line and when it arrived (Date.now()); line "" if the process ended first. */
  firstLine: Promise<{ line: string; at: number }>;
  /** The first stdout line that matches (or "" when the process ends first). */
  line: (re: RegExp) => Promise<string>;
}

const children = new Set<ChildProcess>();

export function start(cmd: string, args: string[], timeoutMs: number): Proc {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  let first: { line: string; at: number } | undefined;
  let gotFirst: (f: { line: string; at: number }) => void = () => undefined;
  const firstLine = new Promise<{ line: string; at: number }>((r) => (gotFirst = r));
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const l = stdout.split("\n").find((x) => w.re.test(x));
      if (l !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  child.stdout!.on("data", (d: Buffer) => {
    const at = Date.now();
    stdout += d;
    const i = stdout.indexOf("\n");
    if (first === undefined && i >= 0) gotFirst((first = { line: stdout.slice(0, i), at }));
    check();
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d));
  const done = new Promise<Exit>((resolve, reject) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(kill);
      children.delete(child);
      gotFirst(first ?? { line: "", at: 0 });
      for (const w of waiters.splice(0)) w.resolve("");
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child, done, firstLine,
    line: (re) => new Promise<string>((resolve) => {
      waiters.push({ re, resolve });
      check();
    }),
  };
}

/** `mbms-srtp …args` from the build. */
export const cli = (args: string[], timeoutMs: number): Proc => start(process.execPath, [MAIN, ...args], timeoutMs);

/** For afterAll: SIGKILL every child still running. */
export function killChildren(): void {
  for (const c of children) c.kill("SIGKILL");
}

export { freeTcpPort, freeUdpPort } from "../../src/net/free-port.js";

/** `send --json`'s summary (a sender and a key server: MIKEY mode). */
export type SendSummary = Required<Pick<BmscResult, "sender" | "keyServer">> & BmscResult;
export type ReceiveSummary = ReceiveResult;

/** The last line of `stdout`, parsed: the --json summary. */
export const lastJson = <T>(stdout: string): T => JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
