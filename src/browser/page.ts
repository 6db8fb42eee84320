/**
 * The receiver page (web/index.html, served by `mbms-srtp relay --web`): a user id and KEK (typed, from a
 * JSON config file, or — for the demo's throwaway users — in the URL fragment, which is never sent to a
 * server), ME or UICC, start/stop, the video and its stats. The relay's /config.json names the key server,
 * the service and the relay's WebSocket. `window.mbms` exposes the state and the last stats (tests, tools).
 */
import { fromHex } from "../mbms/http-protocol.js";
import { BrowserReceiver } from "./browser-receiver.js";
import type { BrowserReceiverStats, ReceiverConfig } from "./protocol.js";

/** The relay's /config.json (src/cli/relay.ts): the key server, the service, tunings of the receiver. */
interface PageConfig extends Pick<ReceiverConfig, "serviceId" | "rotationPeriodMs" | "keyClient" | "evaluator"> {
  keyServer: string;
  relayUrl?: string;
  userId?: string;
}

interface PageState {
  state: "stopped" | "starting" | "playing" | "failed";
  error?: string;
  stats?: BrowserReceiverStats;
}

const page: PageState = { state: "stopped" };
(globalThis as unknown as { mbms: PageState }).mbms = page;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>("keying");
const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
const overlay = $("overlay"), status = $("status");
const startButton = $<HTMLButtonElement>("start"), stopButton = $<HTMLButtonElement>("stop");
let receiver: BrowserReceiver | undefined;

function show(state: PageState["state"], text: string): void {
  page.state = state;
  status.textContent = text;
  startButton.disabled = state === "starting" || state === "playing";
  stopButton.disabled = !startButton.disabled;
}

function render(s: BrowserReceiverStats): void {
  page.stats = s;
  overlay.textContent = [
    `${s.mode}  ${s.mbps.toFixed(1)} Mbit/s  ${s.width}x${s.height}  ${s.framesDecoded} frames (${s.framesDropped} dropped)`,
    `packets ${s.delivered}/${s.packets}  lost ${s.lost}  auth failures ${s.authFailures}  forged MKIs dropped ${s.untrusted}`,
    `key switches ${s.keySwitches} (last ${s.switchLatency.lastMs.toFixed(1)} ms, median ${s.switchLatency.medianMs.toFixed(1)} ms)  re-keys ${s.rekeys}`,
    `MKI ${s.currentMki ?? "-"}`,
    `CPU/packet: SRTP ${s.decryptUsPerPacket.toFixed(2)} µs, media ${s.mediaUsPerPacket.toFixed(2)} µs`,
  ].join("\n");
}

async function start(config: PageConfig): Promise<void> {
  const kek = fromHex(field("kek").value.trim(), field("kek").value.trim().length / 2);
  const mode = (form.elements.namedItem("mode") as RadioNodeList).value as "ME" | "UICC";
  if (kek === undefined) return show("failed", "the KEK must be 32 or 64 hex digits");
  show("starting", `keying ${mode}…`);
  receiver = new BrowserReceiver({
    relayUrl: config.relayUrl ?? `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`,
    keyServerUrl: config.keyServer, serviceId: config.serviceId, userId: field("userId").value.trim(), mode, kek,
    canvas: $<HTMLCanvasElement>("video"), ...(config.rotationPeriodMs ? { rotationPeriodMs: config.rotationPeriodMs } : {}),
    ...(config.keyClient ? { keyClient: config.keyClient } : {}), ...(config.evaluator ? { evaluator: config.evaluator } : {}),
  });
  kek.fill(0);
  receiver.onStats = render;
  receiver.onError = (e) => {
    page.error = e.code;
    if (e.code === "ERR_RELAY") show("stopped", "the relay ended the stream");
  };
  try {
    await receiver.start();
    show("playing", `playing (${mode})`);
  } catch (e) {
    show("failed", `failed: ${(e as Error).message}`);
  }
}

async function stop(): Promise<void> {
  const r = receiver;
  receiver = undefined;
  const last = await r?.stop();
  if (last) render(last);
  show("stopped", "stopped");
}

/** A JSON file { "userId": "…", "kek": "hex" } fills the form. */
async function readConfigFile(file: File): Promise<void> {
  const parsed = JSON.parse(await file.text()) as { userId?: unknown; kek?: unknown };
  if (typeof parsed.userId === "string") field("userId").value = parsed.userId;
  if (typeof parsed.kek === "string") field("kek").value = parsed.kek;
}

async function main(): Promise<void> {
  const config = (await (await fetch("/config.json")).json()) as PageConfig;
  const hash = new URLSearchParams(location.hash.slice(1));
  field("userId").value = hash.get("user") ?? config.userId ?? "";
  field("kek").value = hash.get("kek") ?? "";
  if (hash.get("mode") === "UICC") form.querySelector<HTMLInputElement>('input[name="mode"][value="UICC"]')!.checked = true;
  if (hash.has("kek")) history.replaceState(null, "", location.pathname); // out of sight, out of history
  field("file").onchange = () => {
    const file = field("file").files?.[0];
    if (file) readConfigFile(file).catch(() => show("failed", "the config file is not JSON with userId and kek"));
  };
  form.onsubmit = (event) => {
    event.preventDefault();
    void start(config);
  };
  stopButton.onclick = () => void stop();
  if (hash.get("autostart") === "1") void start(config);
}

main().catch((e) => show("failed", `failed: ${(e as Error).message}`));
