import { MbmsSrtpError } from "../errors.js";

/** Codes of the network layer (UDP sockets, the WebSocket relay). Messages carry addresses and counts, never payload. */
export type NetErrorCode =
  | "ERR_ARGUMENT" // a malformed option (an origin that is not one, a mount prefix, a limit out of range)
  | "ERR_BIND"; // a socket could not bind its address or join its multicast group (the system's code in the message)

export class NetError extends MbmsSrtpError {
  declare readonly code: NetErrorCode;
  constructor(code: NetErrorCode, message: string) {
    super(code, message);
  }
}
