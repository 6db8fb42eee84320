export { H264Depacketizer, type H264AccessUnit, type H264DepacketizerOptions, type H264DepacketizerStats } from "./depacketizer.js";
export { avcCodecString } from "./avc-codec.js";
export { H264Error, type H264ErrorCode } from "./errors.js";
