/**
 * The browser receiver, page side: one call starts a module Worker that keys itself from the key server
 * (fetch), takes the SRTP stream from the relay (WebSocket), decrypts it in WASM, decodes the H.264 video
 * with WebCodecs and paints it into `canvas` (transferred to the worker). ME mode gives the worker a copy of
 * the KEK; UICC mode starts the web card in a worker of its own and gives the receiver only a port to it,
 * so the KEK never reaches the receiver's worker.
 *
 *   const receiver = new BrowserReceiver({ relayUrl, keyServerUrl, serviceId, userId, mode: "ME", kek, canvas });
 *   receiver.onStats = (s) => console.log(s.mbps, s.keySwitches);
 *   await receiver.start();   // resolves once keyed
 */
import { spawnWebCardForPort, type WebCardHandle } from "../mbms/uicc/web-card.js";
import { BrowserReceiverError } from "./errors.js";
import type { BrowserReceiverStats, PageToWorker, ReceiverConfig, WorkerKeying, WorkerToPage } from "./protocol.js";

export interface BrowserReceiverOptions extends ReceiverConfig {
  mode: "ME" | "UICC";
  /** The user's KEK, 16 or 32 bytes: copied to the receiver's worker (ME) or the card's worker (UICC). */
  kek: Uint8Array;
  /** Where the video is painted; an HTMLCanvasElement gives up its control to the worker. */
  canvas?: HTMLCanvasElement | OffscreenCanvas;
  /** The worker scripts (default: next to this module — set them when bundling). */
  workerUrl?: URL | string;
  cardWorkerUrl?: URL | string;
}

export class BrowserReceiver {
  /** Called with every stats message (every `statsIntervalMs`) and with the last ones at stop. */
  onStats: ((stats: BrowserReceiverStats) => void) | undefined;
  /** Non-fatal failures (a re-key retried, a decoder restart) and the fatal one that ends the session. */
  onError: ((error: BrowserReceiverError) => void) | undefined;
  #stats: BrowserReceiverStats | undefined;
  #worker: Worker | undefined;
  #card: WebCardHandle | undefined;
  #state: "new" | "started" | "stopped" = "new";
  #stopped: ((stats: BrowserReceiverStats | undefined) => void) | undefined;
  readonly #options: Omit<BrowserReceiverOptions, "kek">;
  /** A copy of the KEK until start hands it to a worker (the caller may zero its own at once). */
  readonly #kek: Uint8Array;

  constructor(options: BrowserReceiverOptions) {
    checkOptions(options);
    const { kek, ...rest } = options;
    this.#options = rest;
    this.#kek = kek.slice();
  }

  get stats(): BrowserReceiverStats | undefined {
    return this.#stats;
  }

  /** Starts the worker(s); resolves when the first key message is accepted, rejects on a fatal error. */
  start(): Promise<void> {
    if (this.#state !== "new") return Promise.reject(new BrowserReceiverError("ERR_STATE", "a BrowserReceiver starts once"));
    this.#state = "started";
    const o = this.#options;
    const { mode, canvas, workerUrl, cardWorkerUrl, ...config } = o;
    const worker = new Worker(workerUrl ?? new URL("./receiver-worker.js", import.meta.url), { type: "module" });
    this.#worker = worker;
    let keying: WorkerKeying;
    const transfer: Transferable[] = [];
    if (mode === "UICC") {
      this.#card = spawnWebCardForPort(this.#kek, cardWorkerUrl ? { workerUrl: cardWorkerUrl } : {});
      this.#kek.fill(0);
      keying = { mode, cardPort: this.#card.port };
      transfer.push(this.#card.port);
    } else {
      // Transferred: this context's copy is detached, only the worker holds the KEK.
      const buffer = this.#kek.buffer as ArrayBuffer;
      keying = { mode, kek: buffer };
      transfer.push(buffer);
    }
    const offscreen = canvas === undefined ? undefined : "transferControlToOffscreen" in canvas ? canvas.transferControlToOffscreen() : canvas;
    if (offscreen) transfer.push(offscreen);
    return new Promise<void>((resolve, reject) => {
      worker.onmessage = ({ data }: MessageEvent<WorkerToPage>) => {
        if (data.type === "keyed") resolve();
        else if (data.type === "stats") {
          this.#stats = data.stats;
          this.onStats?.(data.stats);
        } else if (data.type === "error") {
          const error = new BrowserReceiverError(data.code as BrowserReceiverError["code"], data.message);
          this.onError?.(error);
          if (data.fatal) {
            reject(error);
            void this.stop();
          }
        } else if (data.type === "stopped") {
          this.#stats = data.stats;
          this.onStats?.(data.stats);
          this.#stopped?.(data.stats);
        }
      };
      worker.onerror = (event) => {
        const error = new BrowserReceiverError("ERR_STATE", `the receiver worker failed: ${event.message}`);
        this.onError?.(error);
        reject(error);
      };
      const message: PageToWorker = { type: "start", config, keying, ...(offscreen ? { canvas: offscreen } : {}) };
      worker.postMessage(message, transfer);
    });
  }

  /** Closes the stream and zeroes every key (receiver worker, then the card); resolves with the last stats. */
  async stop(): Promise<BrowserReceiverStats | undefined> {
    if (this.#state !== "started") return this.#stats;
    this.#state = "stopped";
    const worker = this.#worker!;
    const stopped = new Promise<BrowserReceiverStats | undefined>((resolve) => {
      this.#stopped = resolve;
      setTimeout(() => resolve(this.#stats), 2000); // a worker that does not answer is ended anyway
    });
    worker.postMessage({ type: "stop" } satisfies PageToWorker);
    const stats = await stopped;
    worker.terminate();
    this.#card?.terminate();
    return stats;
  }
}

function checkOptions(o: BrowserReceiverOptions): void {
  for (const name of ["Worker", "WebSocket", "WebAssembly", "VideoDecoder"] as const) {
    if (!(name in globalThis)) throw new BrowserReceiverError("ERR_UNSUPPORTED", `this browser has no ${name}`);
  }
  if (!(o.kek instanceof Uint8Array) || (o.kek.length !== 16 && o.kek.length !== 32)) {
    throw new BrowserReceiverError("ERR_ARGUMENT", "the KEK must be 16 or 32 bytes");
  }
  if (o.mode !== "ME" && o.mode !== "UICC") throw new BrowserReceiverError("ERR_ARGUMENT", 'mode must be "ME" or "UICC"');
  for (const [name, url, schemes] of [["relayUrl", o.relayUrl, ["ws:", "wss:"]], ["keyServerUrl", o.keyServerUrl, ["http:", "https:"]]] as const) {
    let protocol = "";
    try {
      protocol = new URL(url).protocol;
    } catch {
      // reported below
    }
    if (!(schemes as readonly string[]).includes(protocol)) throw new BrowserReceiverError("ERR_ARGUMENT", `${name} must be a ${schemes.join(" or ")} URL`);
  }
  for (const [name, id] of [["serviceId", o.serviceId], ["userId", o.userId]] as const) {
    if (typeof id !== "string" || id.length === 0) throw new BrowserReceiverError("ERR_ARGUMENT", `${name} must be a non-empty string`);
  }
}
