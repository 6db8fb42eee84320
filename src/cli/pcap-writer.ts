/**
 * Writes decrypted RTP packets to a pcap file (`receive --pcap-out`), each wrapped in the IPv4 and UDP
 * headers it arrived with (LINKTYPE_IPV4; UDP checksum 0 = none, RFC 768), so Wireshark and tshark read it:
 * `tshark -r out.pcap -d udp.port==5004,rtp`. Buffered, written in 256 KiB chunks and on close; the file
 * must not exist yet and is created with mode 0600 (it holds the plaintext of the stream).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { UsageError } from "./usage-error.js";

const LINKTYPE_IPV4 = 228;
const IP_UDP_HEADERS = 28;
const RECORD_HEADER = 16;
const CHUNK = 256 * 1024;

export class PcapWriter {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(CHUNK);
  private used = 0;
  private ipId = 0;
  private readonly addresses = new Map<string, number>();
  packets = 0;

  constructor(path: string) {
    try {
      this.fd = openSync(path, "wx", 0o600); // a new file: an existing one (or a symlink) is not overwritten
    } catch (e) {
      throw new UsageError(`--pcap-out: ${(e as Error).message}`);
    }
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0); // microsecond timestamps, little-endian fields
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(65535, 16); // snaplen
    h.writeUInt32LE(LINKTYPE_IPV4, 20);
    writeSync(this.fd, h);
  }

  /** One packet from srcHost:srcPort to dstHost:dstPort (IPv4 dotted), received at `atMs` (epoch ms). */
  write(packet: Uint8Array, srcHost: string, srcPort: number, dstHost: string, dstPort: number, atMs: number): void {
    const total = IP_UDP_HEADERS + packet.length;
    if (total > 65535) return;
    if (this.used + RECORD_HEADER + total > CHUNK) this.flush();
    const b = this.buf;
    let o = this.used;
    b.writeUInt32LE(Math.floor(atMs / 1000), o);
    b.writeUInt32LE(Math.floor((atMs % 1000) * 1000), o + 4);
    b.writeUInt32LE(total, o + 8);
    b.writeUInt32LE(total, o + 12);
    o += RECORD_HEADER;
    const ip = o;
    b.writeUInt8(0x45, o); // IPv4, 20-byte header
    b.writeUInt8(0, o + 1);
    b.writeUInt16BE(total, o + 2);
    b.writeUInt16BE(this.ipId++ & 0xffff, o + 4);
    b.writeUInt16BE(0x4000, o + 6); // don't fragment
    b.writeUInt8(64, o + 8);
    b.writeUInt8(17, o + 9); // UDP
    b.writeUInt16BE(0, o + 10);
    b.writeUInt32BE(this.address(srcHost), o + 12);
    b.writeUInt32BE(this.address(dstHost), o + 16);
    b.writeUInt16BE(ipChecksum(b, ip), o + 10);
    o += 20;
    b.writeUInt16BE(srcPort, o);
    b.writeUInt16BE(dstPort, o + 2);
    b.writeUInt16BE(8 + packet.length, o + 4);
    b.writeUInt16BE(0, o + 6);
    b.set(packet, o + 8);
    this.used = o + 8 + packet.length;
    this.packets++;
  }

  /** Dotted IPv4 → 32 bits, remembered: a stream has one or two addresses, parsed once each. */
  private address(host: string): number {
    let a = this.addresses.get(host);
    if (a === undefined) {
      a = host.split(".").reduce((n, part) => n * 256 + (Number(part) & 0xff), 0);
      if (this.addresses.size < 64) this.addresses.set(host, a);
    }
    return a;
  }

  flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
    this.buf.fill(0);
    closeSync(this.fd);
  }
}

/** The IPv4 header checksum (RFC 791 §3.1): one's complement of the one's-complement sum of 16-bit words. */
function ipChecksum(b: Buffer, at: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(at + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
