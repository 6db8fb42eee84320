/**
 * Batched UDP sockets for Node (Linux): the native/udp addon (sendmmsg with UDP GSO, recvmmsg) when it was
 * built at install, else node:dgram behind the same interface, with a one-line notice on stderr (once).
 * MBMS_SRTP_UDP=dgram makes dgram the default (for tests and comparisons); an explicit `io` wins.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { DgramUdp } from "./dgram-udp.js";
import { NativeUdp, type NativeAddon } from "./native-udp.js";
import { UdpError } from "./udp-error.js";
import type { BatchUdpOptions, BatchUdpSocket, UdpIo } from "./udp-socket.js";

export type { BatchUdpOptions, BatchUdpSocket, UdpAddress, UdpIo, UdpStats } from "./udp-socket.js";
export { UdpError, type UdpErrorCode } from "./udp-error.js";
export { MAX_BATCH } from "./batch-shape.js";

/** native/udp, from src/net/ and from dist/net/ alike. */
const ADDON_DIR = fileURLToPath(new URL("../../native/udp/", import.meta.url));

let addon: NativeAddon | null | undefined;
let loadFailure = "";
let noticed = false;

/** The addon, loaded once (undefined if it is not built or does not load here). */
function nativeAddon(): NativeAddon | undefined {
  if (addon === undefined) {
    try {
      const load = createRequire(import.meta.url)("node-gyp-build") as (dir: string) => NativeAddon;
      addon = load(ADDON_DIR);
    } catch (e) {
      addon = null;
      loadFailure = String((e as Error).message ?? e).split("\n")[0]!;
    }
  }
  return addon ?? undefined;
}

/** Whether the native backend can be used in this process. */
export function nativeUdpAvailable(): boolean {
  return nativeAddon() !== undefined;
}

/** The backend used when none is asked for: native if loaded, unless MBMS_SRTP_UDP=dgram. */
export function defaultUdpIo(): UdpIo {
  const env = process.env.MBMS_SRTP_UDP;
  if (env === "dgram") return "dgram";
  if (env !== undefined && env !== "" && env !== "native") throw new UdpError("ERR_UDP_ARGUMENT", `MBMS_SRTP_UDP must be native or dgram, not ${JSON.stringify(env)}`);
  if (nativeAddon()) return "native";
  if (!noticed) {
    noticed = true;
    process.stderr.write(`mbms-srtp: native UDP I/O unavailable (${loadFailure}); using node:dgram\n`);
  }
  return "dgram";
}

/** Opens and binds a batched UDP socket (IPv4). Throws ERR_UDP_SETUP if the bind fails. */
export async function openBatchUdp(o: BatchUdpOptions): Promise<BatchUdpSocket> {
  const io = o.io ?? defaultUdpIo();
  if (io === "dgram") return DgramUdp.open(o);
  const a = nativeAddon();
  if (!a) throw new UdpError("ERR_UDP_NATIVE_UNAVAILABLE", `native UDP I/O unavailable (${loadFailure}): build it with npx node-gyp rebuild -C native/udp, or use dgram`);
  return NativeUdp.open(a, o);
}
