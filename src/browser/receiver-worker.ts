/**
 * The receiver's module Web Worker (started by BrowserReceiver): the first message starts a
 * ReceiverSession with the KEK (ME mode) or the card's port (UICC mode: the KEK stays in the card's own
 * worker) and the page's canvas; stats go back every interval; `stop` zeroes the keys and ends the worker.
 */
import { UiccProxy } from "../mbms/uicc/uicc-proxy.js";
import { webWorkerChannel } from "../mbms/uicc/web-card.js";
import type { UeKeying } from "../mbms/ue/ue-receiver.js";
import { BrowserReceiverError } from "./errors.js";
import type { PageToWorker, WorkerToPage } from "./protocol.js";
import { ReceiverSession } from "./receiver-session.js";

interface WorkerScope {
  onmessage: ((event: MessageEvent<PageToWorker>) => void) | null;
  postMessage(message: WorkerToPage): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
const post = (message: WorkerToPage) => scope.postMessage(message);
let session: ReceiverSession | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;
/** ME mode: the worker's copy of the KEK (the key client signs and opens with it), zeroed at stop. */
let kek: Uint8Array | undefined;

function fail(e: unknown, fatal: boolean): void {
  const error = e instanceof BrowserReceiverError || (e instanceof Error && "code" in e) ? (e as BrowserReceiverError) : undefined;
  post({ type: "error", code: error?.code ?? "ERR_STATE", message: error?.message ?? "the receiver failed", fatal });
}

async function start(message: Extract<PageToWorker, { type: "start" }>): Promise<void> {
  const { config, keying: k, canvas } = message;
  if (k.mode === "ME") kek = new Uint8Array(k.kek);
  const keying: UeKeying = k.mode === "ME"
    ? { mode: "ME", kek: kek! }
    : { mode: "UICC", card: new UiccProxy(webWorkerChannel(k.cardPort)) };
  session = new ReceiverSession(config, k.mode, canvas, {
    onKeyed: (d) => post({ type: "keyed", userId: config.userId, tgks: d.tgks.length }),
    onError: (e, fatal) => fail(e, fatal),
  });
  statsTimer = setInterval(() => session && post({ type: "stats", stats: session.stats }), config.statsIntervalMs ?? 500);
  await session.start(keying);
}

async function stop(): Promise<void> {
  if (statsTimer) clearInterval(statsTimer);
  const s = session;
  session = undefined;
  if (s) {
    await s.close();
    post({ type: "stopped", stats: s.stats });
  }
  kek?.fill(0);
  scope.close();
}

scope.onmessage = ({ data }) => {
  if (data?.type === "start" && session === undefined) start(data).catch((e) => fail(e, true));
  else if (data?.type === "stop") void stop();
};
