// Parent side of the BM-SC child process (test/helpers/bmsc-child.mjs): forks it, speaks its IPC protocol,
// captures everything it writes on stdout/stderr, and kills or stops it. The child imports dist/, so the
// package must be built first (`npx tsc -p tsconfig.json`); `requireDist()` fails with that hint otherwise.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CHILD_SCRIPT = fileURLToPath(new URL("./bmsc-child.mjs", import.meta.url));
export const DIST_BMSC = fileURLToPath(new URL("../../dist/mbms/bmsc/index.js", import.meta.url));
export const DIST_CARD_WORKER = fileURLToPath(new URL("../../dist/mbms/uicc/card-worker.js", import.meta.url));

/** Throws a clear error when dist/ has not been built. */
export function requireDist(): void {
  if (!existsSync(DIST_BMSC)) {
    throw new Error(`${DIST_BMSC} is missing: build the package first (npx tsc -p tsconfig.json, or npm run build); the BM-SC child process runs dist/`);
  }
}

export interface BmscConfig {
  incarnation: number;
  dbPath: string;
  serviceId: string;
  tgkLifetimeMs: number;
  tekRand2PeriodMs: number;
  nextTgkLeadMs: number;
  /** Key server port: 0 for any; a restart asks for the previous one. */
  port?: number;
  /** UDP ports on 127.0.0.1 the sender sends to (one per UE). */
  uePorts: number[];
  ssrc: number;
  /** Packet n is due at t0 + n·intervalMs. */
  intervalMs: number;
  /** The TEK derivation of the BM-SC (default Alternative 1); receivers learn it from the key message. */
  derivation?: "alt1" | "alt2";
  /** Set: stream from start (a restart); unset: wait for stream(t0). */
  t0?: number;
}

export interface TekMessage {
  type: "tek";
  tgkId: number;
  mki: string;
  key: string;
  salt: string;
  startsAt: number;
  resumed: boolean;
}
export interface SentRange {
  first: number;
  last: number;
  /** MKI (hex) the packets were protected under. */
  mki: string;
}
export interface SentMessage {
  type: "sent";
  incarnation: number;
  ranges: SentRange[];
}
export interface ReadyMessage {
  type: "ready";
  port: number;
  portReused: boolean;
  incarnation: number;
}
type ChildMessage =
  | TekMessage | SentMessage | ReadyMessage
  | { type: "userAdded"; userId: string }
  | { type: "streamStopped" } | { type: "stopped" }
  | { type: "error"; message: string; code?: string };

export class BmscProcess {
  readonly child: ChildProcess;
  readonly incarnation: number;
  /** Everything the child wrote, stdout and stderr. */
  output = "";
  readonly teks: TekMessage[] = [];
  readonly sent: SentRange[] = [];
  readonly errors: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { match: (m: ChildMessage) => boolean; resolve: (m: ChildMessage) => void }[] = [];

  constructor(readonly config: BmscConfig, private readonly hooks: { onTek?: (m: TekMessage) => void; onSent?: (m: SentMessage) => void } = {}) {
    requireDist();
    this.incarnation = config.incarnation;
    this.child = fork(CHILD_SCRIPT, [], { silent: true, serialization: "json" });
    this.child.stdout!.setEncoding("utf8").on("data", (s: string) => (this.output += s));
    this.child.stderr!.setEncoding("utf8").on("data", (s: string) => (this.output += s));
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
    this.child.on("message", (raw) => this.onMessage(raw as ChildMessage));
    this.child.on("error", (e) => this.errors.push(e.message));
  }

  private onMessage(m: ChildMessage): void {
    if (m.type === "tek") {
      this.teks.push(m);
      this.hooks.onTek?.(m);
    } else if (m.type === "sent") {
      this.sent.push(...m.ranges);
      this.hooks.onSent?.(m);
    } else if (m.type === "error") {
      this.errors.push(m.message);
    }
    for (const w of [...this.waiters]) {
      if (w.match(m)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  /** Resolves with the next message matching `type` (and `match`), or rejects after `timeoutMs` or if the child exits. */
  next<T extends ChildMessage["type"]>(type: T, timeoutMs = 10_000, match: (m: Extract<ChildMessage, { type: T }>) => boolean = () => true): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const waiter = {
        match: (m: ChildMessage) => m.type === type && match(m as Extract<ChildMessage, { type: T }>),
        resolve: (m: ChildMessage) => {
          clearTimeout(timer);
          resolve(m as Extract<ChildMessage, { type: T }>);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`BM-SC #${this.incarnation}: no "${type}" in ${timeoutMs} ms (errors: ${this.errors.join("; ") || "none"}; output: ${this.output.slice(-2000)})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private post(m: Record<string, unknown>): void {
    this.child.send(m);
  }

  /** Starts the BM-SC; resolves when its key server listens. */
  async start(): Promise<ReadyMessage> {
    const ready = this.next("ready", 20_000);
    const failed = this.exited.then(({ code, signal }) => {
      throw new Error(`BM-SC #${this.incarnation} exited before ready (code ${code}, signal ${signal}): ${this.output.slice(-2000)}`);
    });
    this.post({ type: "start", config: this.config });
    return Promise.race([ready, failed]);
  }

  async addUser(userId: string, kekHex: string): Promise<void> {
    const done = this.next("userAdded", 10_000, (m) => m.userId === userId);
    this.post({ type: "addUser", userId, kek: kekHex });
    await done;
  }

  stream(t0: number): void {
    this.post({ type: "stream", t0 });
  }

  async stopStream(): Promise<void> {
    const done = this.next("streamStopped");
    this.post({ type: "stopStream" });
    await done;
  }

  /** Graceful stop: closes the key server, socket, store; waits for the exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.post({ type: "stop" });
    const t = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(t);
  }

  /** SIGKILL: no cleanup at all, as in a crash. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }
}
