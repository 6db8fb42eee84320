import { MbmsSrtpError } from "../../errors.js";

/** Codes of the H.264 depacketizer. Bad packets are never errors (they are counted and dropped). */
export type H264ErrorCode =
  | "ERR_CONFIG"; // an option out of range (reorder window, access-unit bound, payload type, callback)

export class H264Error extends MbmsSrtpError {
  declare readonly code: H264ErrorCode;
  constructor(code: H264ErrorCode, message: string) {
    super(code, message);
  }
}
