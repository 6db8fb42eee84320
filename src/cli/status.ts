/** Receiver statistics and their formatting (status lines, summary). Never key bytes: only the TGK-ID part of the MKI. */

/** ME / UICC: keyed with MIKEY (KEK in the ME or in a card); SDES: one fixed key, no MKI; PLAIN: unprotected RTP. */
export type ReceiverMode = "ME" | "UICC" | "SDES" | "PLAIN";

export interface ReceiverReport {
  name: string;
  mode: ReceiverMode;
  /** Distinct packets decrypted and verified. */
  delivered: number;
  /** Packets sent minus delivered (includes packets in flight while the demo runs). */
  lost: number;
  /** Decrypted packets whose content did not check out, and duplicates. */
  badPackets: number;
  duplicates: number;
  authFailed: number;
  replayed: number;
  refused: number;
  queuedDropped: number;
  switches: number;
  /** Key messages received (initial keying + re-keys). */
  keyDeliveries: number;
  rekeys: number;
  keyErrors: number;
  /** Mbit/s of RTP delivered over the last interval (status) or the whole run (summary). */
  mbps: number;
  /** TGK-ID part of the current MKI (hex), "-" before the first packet. */
  mkiPrefix: string;
}

export interface SenderReport {
  packets: number;
  bytes: number;
  mbps: number;
  tekSwitches: number;
  /** MIKEY-keyed senders: the key lifecycle against the service's schedule. */
  keying?: SenderKeying;
}

/** What the demo's and `send`'s `ok` check of the sender's keys (MbmsSender stats and schedule check). */
export interface SenderKeying {
  state: string;
  /** TEK switches the schedule promised over the run (TEK_RAND2 periods and TGK changes). */
  tekSwitchesExpected: number;
  /** Packets not sent: no TEK in force (e.g. the TGK expired without a new TEK), or a TEK install failed. */
  withheld: number;
  withheldExpiredTgk: number;
  installFailures: number;
  /** Master keys in the sender's context at the end, and the most it held. */
  installedKeys: number;
  peakInstalledKeys: number;
}

/** Why the sender's run is not ok (empty when it is): rotation on schedule, no failed install, nothing withheld. */
export function senderFailures(r: SenderReport): string[] {
  const k = r.keying;
  if (!k) return [];
  const f: string[] = [];
  if (Math.abs(r.tekSwitches - k.tekSwitchesExpected) > 1) f.push(`sender: ${r.tekSwitches} TEK switches, the schedule made ${k.tekSwitchesExpected}`);
  if (k.installFailures > 0) f.push(`sender: ${k.installFailures} TEK install failures (state ${k.state})`);
  if (k.withheld > 0) f.push(`sender: ${k.withheld} packets withheld without a usable TEK (${k.withheldExpiredTgk} after their TGK expired)`);
  return f;
}

const pad = (s: string | number, n: number) => String(s).padStart(n);

export function statusLine(r: ReceiverReport): string {
  return `${r.name.padEnd(7)} ${pad(r.delivered, 8)} pkts ${pad(r.mbps.toFixed(1), 6)} Mbit/s  loss ${pad(r.lost, 5)}  auth-fail ${r.authFailed}  replay ${r.replayed}  switches ${pad(r.switches, 2)}  re-keys ${r.rekeys}  mki ${r.mkiPrefix}…`;
}

export function senderLine(s: SenderReport, seconds: number): string {
  return `sender  ${pad(s.packets, 8)} pkts ${pad(s.mbps.toFixed(1), 6)} Mbit/s  TEK switches ${s.tekSwitches}  t=${seconds.toFixed(1)} s`;
}

/** Redraws `lines` in place on a TTY (cursor up + clear line). */
export class LiveStatus {
  private drawn = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}
  draw(lines: string[]): void {
    let s = this.drawn > 0 ? `\x1b[${this.drawn}F` : "";
    for (const l of lines) s += `\x1b[2K${l}\n`;
    this.out.write(s);
    this.drawn = lines.length;
  }
}

export function mkiPrefix(mkiHex: string | undefined, tgkIdBytes = 4): string {
  return mkiHex === undefined ? "-" : mkiHex.slice(0, 2 * tgkIdBytes);
}
