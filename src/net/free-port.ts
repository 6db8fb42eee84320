/**
 * A port that was free a moment ago (bound to port 0, read, closed): for a server whose address another
 * part must know before that server starts (the relay's page names the key server; the key server allows
 * the relay's origin). Another process may take it in between: the bind that follows then fails loudly.
 */
import dgram from "node:dgram";
import net from "node:net";

export function freeTcpPort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export function freeUdpPort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.once("error", reject);
    s.bind(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
