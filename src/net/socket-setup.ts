/**
 * What both batched-UDP backends (dgram-udp.ts, native-udp.ts) share around their socket: the closed flag
 * and the set-up calls — refused after close, a failure an ERR_UDP_SETUP naming what was set (or
 * ERR_UDP_ARGUMENT for an argument the addon refused) — and the multicast options, which go the same way
 * to dgram's socket or to the addon's handle (their methods have the same names).
 */
import { UdpError, setupError } from "./udp-error.js";

export interface MulticastTarget {
  addMembership(group: string, iface: string): void;
  setMulticastTTL(ttl: number): void;
  setMulticastLoopback(on: boolean): void;
  setMulticastInterface(iface: string): void;
}

export abstract class SocketSetup {
  protected closed = false;
  /** The socket the options go to. */
  protected abstract get target(): MulticastTarget;

  addMembership(group: string, iface: string): void {
    this.setup(`membership of ${group} on ${iface}`, () => this.target.addMembership(group, iface));
  }

  setMulticastTTL(ttl: number): void {
    this.setup("multicast TTL", () => this.target.setMulticastTTL(ttl));
  }

  setMulticastLoopback(on: boolean): void {
    this.setup("multicast loopback", () => this.target.setMulticastLoopback(on));
  }

  setMulticastInterface(iface: string): void {
    this.setup(`multicast interface ${iface}`, () => this.target.setMulticastInterface(iface));
  }

  protected checkOpen(): void {
    if (this.closed) throw new UdpError("ERR_UDP_CLOSED", "the socket is closed");
  }

  protected setup<T>(what: string, call: () => T): T {
    this.checkOpen();
    try {
      return call();
    } catch (e) {
      if ((e as { code?: unknown }).code === "ERR_INVALID_ARG") throw new UdpError("ERR_UDP_ARGUMENT", `${what}: ${(e as Error).message}`);
      throw setupError(what, e);
    }
  }
}
