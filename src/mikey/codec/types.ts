/** The typed MIKEY message model (RFC 3830 §6). Byte fields are copies, never views of the input. */
import type {
  CertType, CsIdMapType, DataType, DhGroup, EncrAlg, ExtensionType, HashFunc, IdType, KeyDataType, KvType,
  MacAlg, PayloadType, PkeCache, ProtType, TsType,
} from "./constants.js";

/** One SRTP-ID map entry (§6.1.1); the i-th entry (1-based) has cs_id = i. */
export interface SrtpIdEntry {
  policyNo: number; // u8: the SP payload's policy number
  ssrc: number; // u32, 0 when the Initiator does not know it
  roc: number; // u32, current ROC
}

/** Common header, HDR (§6.1). */
export interface MikeyHeader {
  version: number; // always 1
  dataType: DataType;
  v: boolean; // Initiator asks for a Verification message
  prfFunc: number; // 7 bits, 0 = MIKEY-1
  csbId: number; // u32
  csIdMapType: CsIdMapType;
  /** #CS. For SRTP-ID it equals srtpMap.length (the encoder checks); for the Empty map it stands alone. */
  csCount: number;
  srtpMap: SrtpIdEntry[]; // empty unless csIdMapType = SRTP-ID
}

/** Key validity data (§6.14), shared by Key data sub-payloads and DH. */
export type KeyValidity =
  | { kvType: KvType.Null }
  | { kvType: KvType.Spi; spi: Uint8Array } // for SRTP: the MKI
  | { kvType: KvType.Interval; validFrom: Uint8Array; validTo: Uint8Array }; // for SRTP: 48-bit indices

/** T (§6.6). NTP values are 64-bit; COUNTER is 32-bit. */
export interface TimestampPayload {
  type: PayloadType.T;
  tsType: TsType;
  value: bigint;
}

/** RAND (§6.11). */
export interface RandPayload {
  type: PayloadType.RAND;
  rand: Uint8Array; // ≤ 255 bytes, SHOULD be ≥ 16
}

/** ID (§6.7): IDi or IDr by position. */
export interface IdPayload {
  type: PayloadType.ID;
  idType: IdType;
  id: Uint8Array;
}

/** CERT (§6.7). */
export interface CertPayload {
  type: PayloadType.CERT;
  certType: CertType;
  cert: Uint8Array;
}

/** CHASH (§6.8). */
export interface ChashPayload {
  type: PayloadType.CHASH;
  hashFunc: HashFunc;
  hash: Uint8Array; // 20 bytes SHA-1, 16 bytes MD5
}

/** PKE (§6.3). */
export interface PkePayload {
  type: PayloadType.PKE;
  cache: PkeCache; // 2 bits
  data: Uint8Array; // < 2^14 bytes
}

/** DH (§6.4). */
export interface DhPayload {
  type: PayloadType.DH;
  group: DhGroup;
  value: Uint8Array; // exactly DH_VALUE_LENGTH[group] bytes
  kv: KeyValidity;
}

/** SIGN (§6.5): no next-payload field, always last. */
export interface SignPayload {
  type: PayloadType.SIGN;
  signType: number; // 4 bits
  signature: Uint8Array; // < 2^12 bytes
}

/** One SP policy parameter TLV (§6.10). */
export interface SpParam {
  type: number; // u8, SrtpParamType for SRTP
  value: Uint8Array; // ≤ 255 bytes
}

/** SP (§6.10). */
export interface SpPayload {
  type: PayloadType.SP;
  policyNo: number;
  protType: ProtType;
  params: SpParam[];
}

/** KEMAC (§6.2). The codec does not decrypt: encrData is the encrypted Key data sub-payload list. */
export interface KemacPayload {
  type: PayloadType.KEMAC;
  encrAlg: EncrAlg; // kept as a number: an unknown one is the PSK layer's "Invalid EA"
  encrData: Uint8Array;
  macAlg: MacAlg;
  mac: Uint8Array; // MAC_LENGTH[macAlg] bytes
}

/** V (§6.9). */
export interface VerificationPayload {
  type: PayloadType.V;
  macAlg: MacAlg;
  mac: Uint8Array;
}

/** ERR (§6.12). The 16 reserved bits are written as 0 and ignored on receipt. */
export interface ErrorPayload {
  type: PayloadType.ERR;
  errorNo: number; // ErrorNo
}

/** One RFC 4563 §4 Key ID: type and value. */
export interface KeyIdEntry {
  keyIdType: number; // KeyIdType
  keyId: Uint8Array; // ≤ 255 bytes
}

/** General Extension (§6.15) of type Key ID (RFC 4563), its data decoded. */
export interface KeyIdExtensionPayload {
  type: PayloadType.GeneralExtension;
  extType: ExtensionType.KeyId;
  keyIds: KeyIdEntry[];
}

/** General Extension (§6.15) of any other type: data kept as bytes. */
export interface RawExtensionPayload {
  type: PayloadType.GeneralExtension;
  extType: number;
  data: Uint8Array;
}

export type GeneralExtensionPayload = KeyIdExtensionPayload | RawExtensionPayload;

export type MikeyPayload =
  | TimestampPayload | RandPayload | IdPayload | CertPayload | ChashPayload | PkePayload | DhPayload | SignPayload
  | SpPayload | KemacPayload | VerificationPayload | ErrorPayload | GeneralExtensionPayload;

export interface MikeyMessage {
  header: MikeyHeader;
  payloads: MikeyPayload[];
}

/** Key data sub-payload (§6.13), found in the decrypted KEMAC contents. */
export interface KeyDataPayload {
  keyType: KeyDataType;
  key: Uint8Array;
  salt?: Uint8Array; // present exactly when keyType has SALT (TGK+SALT, TEK+SALT)
  kv: KeyValidity;
}

/** Where a payload lies in the decoded bytes. */
export interface PayloadSpan {
  type: PayloadType;
  start: number; // offset of its first byte (the next-payload byte, or S type for SIGN)
  end: number; // offset just past it
  /** KEMAC and V only: offset of the MAC field; the PSK MAC covers bytes [0, macOffset) (§5.2). */
  macOffset?: number;
}

/** decodeMessage's result: the model plus where each part lies in the input. */
export interface DecodedMessage extends MikeyMessage {
  /** Length of HDR, i.e. offset of the first payload. */
  headerLength: number;
  layout: PayloadSpan[];
  /** macOffset of the last KEMAC or V payload, if any. */
  macOffset?: number;
}
