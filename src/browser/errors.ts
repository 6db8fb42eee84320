import { MbmsSrtpError } from "../errors.js";
import type { MbmsErrorCode } from "../mbms/errors.js";

/** Codes of the browser receiver; keying failures keep the key client's own code (MbmsErrorCode). */
export type BrowserErrorCode =
  | "ERR_UNSUPPORTED" // the browser lacks what the receiver needs (Worker, WebAssembly, WebSocket, WebCodecs)
  | "ERR_RELAY" // the relay's WebSocket failed or closed
  | "ERR_STATE" // start twice, or a call after stop
  | "ERR_DECODE" // the video decoder failed (it restarts at the next key frame)
  | "ERR_ARGUMENT"; // malformed options (URL, user id, KEK length)

export class BrowserReceiverError extends MbmsSrtpError {
  declare readonly code: BrowserErrorCode | MbmsErrorCode;
  constructor(code: BrowserErrorCode | MbmsErrorCode, message: string) {
    super(code, message);
  }
}
