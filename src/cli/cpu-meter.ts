/** Process CPU time over a window (user + system, all threads), and per packet: for line-rate figures. */
export interface CpuReport {
  userMs: number;
  systemMs: number;
  /** (user + system) / packets, in microseconds; null without packets. */
  usPerPacket: number | null;
}

export class CpuMeter {
  private readonly start = process.cpuUsage();

  report(packets: number): CpuReport {
    const d = process.cpuUsage(this.start);
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      userMs: round(d.user / 1000),
      systemMs: round(d.system / 1000),
      usPerPacket: packets > 0 ? round((d.user + d.system) / packets) : null,
    };
  }
}
