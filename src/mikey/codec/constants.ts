/** MIKEY value tables (RFC 3830 §6, RFC 4563, RFC 4771, RFC 7714). */

/** Largest message the decoder accepts, and the encoder produces. KEMAC itself is bounded by 2^16 (§6.13). */
export const MAX_MESSAGE_BYTES = 65536;

/** The only HDR version (§6.1). */
export const MIKEY_VERSION = 1;

/** HDR data type (Table 6.1.a). */
export enum DataType {
  PskInit = 0,
  PskVerify = 1,
  PkInit = 2,
  PkVerify = 3,
  DhInit = 4,
  DhResponse = 5,
  Error = 6,
}

/** Next-payload values (Table 6.1.b). HDR has no number; Last (0) ends the chain. */
export enum PayloadType {
  Last = 0,
  KEMAC = 1,
  PKE = 2,
  DH = 3,
  SIGN = 4,
  T = 5,
  ID = 6,
  CERT = 7,
  CHASH = 8,
  V = 9,
  SP = 10,
  RAND = 11,
  ERR = 12,
  KeyData = 20,
  GeneralExtension = 21,
}

/** HDR PRF func (Table 6.1.c). */
export enum PrfFunc {
  Mikey1 = 0,
}

/** HDR CS ID map type (Table 6.1.d; Empty map from RFC 4563 §5). */
export enum CsIdMapType {
  SrtpId = 0,
  Empty = 1,
}

/** KEMAC encryption algorithm (Table 6.2.a). */
export enum EncrAlg {
  Null = 0,
  AesCm128 = 1,
  AesKw128 = 2,
}

/** KEMAC and V MAC algorithm (Table 6.2.b). */
export enum MacAlg {
  Null = 0,
  HmacSha1_160 = 1,
}

/** MAC length in bytes per MAC algorithm: the MAC field has no length of its own (§6.2). */
export const MAC_LENGTH: Readonly<Record<number, number>> = { [MacAlg.Null]: 0, [MacAlg.HmacSha1_160]: 20 };

/** PKE cache indicator C (§6.3). */
export enum PkeCache {
  NoCache = 0,
  Cache = 1,
  CacheForCsb = 2,
}

/** DH group (§6.4). */
export enum DhGroup {
  Oakley5 = 0,
  Oakley1 = 1,
  Oakley2 = 2,
}

/** DH value length in bytes per group (1536, 768, 1024 bits). */
export const DH_VALUE_LENGTH: Readonly<Record<number, number>> = {
  [DhGroup.Oakley5]: 192,
  [DhGroup.Oakley1]: 96,
  [DhGroup.Oakley2]: 128,
};

/** SIGN signature type (§6.5, S type). */
export enum SignType {
  RsaPkcs1v15 = 0,
  RsaPss = 1,
}

/** T payload TS type (Table 6.6). */
export enum TsType {
  NtpUtc = 0,
  Ntp = 1,
  Counter = 2,
}

/** TS value length in bytes per TS type. */
export const TS_LENGTH: Readonly<Record<number, number>> = { [TsType.NtpUtc]: 8, [TsType.Ntp]: 8, [TsType.Counter]: 4 };

/** ID type (Table 6.7.a; ByteString from RFC 6043). */
export enum IdType {
  Nai = 0,
  Uri = 1,
  ByteString = 2,
}

/** CERT type (Table 6.7.b). */
export enum CertType {
  X509v3 = 0,
  X509v3Url = 1,
  X509v3Sign = 2,
  X509v3Encr = 3,
}

/** CHASH hash function (Table 6.8). */
export enum HashFunc {
  Sha1 = 0,
  Md5 = 1,
}

/** Hash length in bytes per hash function. */
export const HASH_LENGTH: Readonly<Record<number, number>> = { [HashFunc.Sha1]: 20, [HashFunc.Md5]: 16 };

/** SP prot type (Table 6.10). */
export enum ProtType {
  Srtp = 0,
}

/** SRTP policy parameter types (§6.10.1; 13–19 from RFC 4771, 20 from RFC 7714 §14.3). */
export enum SrtpParamType {
  EncrAlg = 0,
  EncrKeyLen = 1,
  AuthAlg = 2,
  AuthKeyLen = 3,
  SaltKeyLen = 4,
  Prf = 5,
  KeyDerivationRate = 6,
  SrtpEncryption = 7,
  SrtcpEncryption = 8,
  FecOrder = 9,
  SrtpAuthentication = 10,
  AuthTagLen = 11,
  PrefixLen = 12,
  RocTransmissionRate = 13,
  SrtpAuthAlg = 14,
  SrtcpAuthAlg = 15,
  SrtpAuthKeyLen = 16,
  SrtcpAuthKeyLen = 17,
  SrtpAuthTagLen = 18,
  SrtcpAuthTagLen = 19,
  AeadAuthTagLen = 20,
}

/** SRTP encryption algorithm values (Table 6.10.1.b; 6 = AES-GCM, RFC 7714 §14.3). */
export enum SrtpEncrAlg {
  Null = 0,
  AesCm = 1,
  AesF8 = 2,
  AesGcm = 6,
}

/** SRTP authentication algorithm values (Table 6.10.1.c; 2–4 RCC modes, RFC 4771). */
export enum SrtpAuthAlg {
  Null = 0,
  HmacSha1 = 1,
  RccM1 = 2,
  RccM2 = 3,
  RccM3 = 4,
}

/** ERR payload error numbers (Table 6.12). */
export enum ErrorNo {
  AuthFailure = 0,
  InvalidTs = 1,
  InvalidPrf = 2,
  InvalidMac = 3,
  InvalidEa = 4,
  InvalidHa = 5,
  InvalidDh = 6,
  InvalidId = 7,
  InvalidCert = 8,
  InvalidSp = 9,
  InvalidSpPar = 10,
  InvalidDt = 11,
  Unspecified = 12,
}

/** Key data sub-payload type (Table 6.13.a). Odd values carry a salt. */
export enum KeyDataType {
  Tgk = 0,
  TgkSalt = 1,
  Tek = 2,
  TekSalt = 3,
}

/** Key validity (KV) type (Table 6.13.b). */
export enum KvType {
  Null = 0,
  Spi = 1,
  Interval = 2,
}

/** General Extension type (Table 6.15; 1 RFC 4567, 3 RFC 4563, 5 RFC 4909, 7 TS 33.180). */
export enum ExtensionType {
  VendorId = 0,
  SdpIds = 1,
  KeyId = 3,
  OmaBcast = 5,
  ThreeGppKeyParameters = 7,
}

/** RFC 4563 §4 Key ID types inside the Key ID extension (241–255 private use). */
export enum KeyIdType {
  MbmsKeyDomainId = 0,
  MskId = 1,
  MtkId = 2,
}
