/** The typed errors of src/net's UDP sockets. Messages name offsets, lengths and errno names: nothing secret. */
import { MbmsSrtpError } from "../errors.js";

export type UdpErrorCode =
  | "ERR_UDP_ARGUMENT" // a malformed batch or argument, refused before any syscall
  | "ERR_UDP_CLOSED" // the socket is closed
  | "ERR_UDP_SETUP" // bind, membership or a socket option failed (sysCode names the errno, e.g. EADDRINUSE)
  | "ERR_UDP_NATIVE_UNAVAILABLE"; // native I/O asked for, but the addon is not built or not loadable

export class UdpError extends MbmsSrtpError {
  declare readonly code: UdpErrorCode;
  /** For ERR_UDP_SETUP: the errno name the system gave (EADDRINUSE, EADDRNOTAVAIL, …). */
  readonly sysCode: string | undefined;
  constructor(code: UdpErrorCode, message: string, sysCode?: string) {
    super(code, message);
    this.sysCode = sysCode;
  }
}

/** A failed set-up call (native: the errno name as `code`; dgram: Node's system error) as ERR_UDP_SETUP. */
export function setupError(what: string, e: unknown): UdpError {
  if (e instanceof UdpError) return e;
  const sys = (e as { code?: unknown }).code;
  const sysCode = typeof sys === "string" ? sys : undefined;
  return new UdpError("ERR_UDP_SETUP", `${what} failed${sysCode ? ` (${sysCode})` : ""}`, sysCode);
}
