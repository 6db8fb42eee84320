/**
 * A bound UDP receive socket, as every receiving part uses it (the CLI's UE receiver, `send --rtp-in`, the
 * relay): unicast on host:port, or a multicast group joined on an interface. A group member binds the
 * group's address (so it gets that group's datagrams only) with SO_REUSEADDR, so several receivers on one
 * host share the port. The receive buffer is asked for 8 MiB (the kernel caps it at net.core.rmem_max):
 * bursts at tens of Mbit/s overflow the default before the event loop reads.
 */
import dgram from "node:dgram";
import { NetError } from "./errors.js";

export interface UdpListen {
  port: number;
  /** Unicast address to bind (default 127.0.0.1); not used with `group`. */
  host?: string;
  /** Multicast group to join (binds the group's address). */
  group?: string;
  /** Interface address for the membership (default 127.0.0.1). */
  iface?: string;
}

const RECV_BUFFER_BYTES = 8 << 20;

/** Binds (and joins) as `l` says; a failure is a NetError ERR_BIND naming the address and the system's code. */
export async function bindUdpReceiver(l: UdpListen): Promise<dgram.Socket> {
  const address = l.group ?? l.host ?? "127.0.0.1";
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: l.group !== undefined });
  const fail = (what: string, e: unknown): NetError => {
    socket.close();
    return new NetError("ERR_BIND", `udp ${what}: ${(e as { code?: string }).code ?? "failed"}`);
  };
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (e) => reject(fail(`${address}:${l.port}`, e)));
    socket.bind(l.port, address, () => {
      socket.removeAllListeners("error");
      resolve();
    });
  });
  if (l.group !== undefined) {
    try {
      socket.addMembership(l.group, l.iface ?? "127.0.0.1");
    } catch (e) {
      throw fail(`join ${l.group} on ${l.iface ?? "127.0.0.1"}`, e);
    }
  }
  try {
    socket.setRecvBufferSize(RECV_BUFFER_BYTES);
  } catch {
    // keep the default
  }
  return socket;
}
