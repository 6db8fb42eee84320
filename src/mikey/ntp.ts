/** NTP timestamps (RFC 3830 §4.2.8, §6.6): 64 bits, seconds since 1900-01-01 in the high 32 bits. */
const NTP_UNIX_OFFSET_S = 2_208_988_800n;

export function ntpFromMs(ms: number): bigint {
  const whole = BigInt(Math.floor(ms / 1000)) + NTP_UNIX_OFFSET_S;
  const fraction = BigInt(Math.floor(((ms % 1000) / 1000) * 2 ** 32));
  return (whole << 32n) | fraction;
}

export function msFromNtp(ntp: bigint): number {
  const seconds = Number((ntp >> 32n) - NTP_UNIX_OFFSET_S);
  const fraction = Number(ntp & 0xffffffffn) / 2 ** 32;
  return Math.round((seconds + fraction) * 1000);
}
