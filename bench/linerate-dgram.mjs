// Bare Node datagram sockets, the ceiling under the line-rate pipeline: `tx HOST PORT PPS SECONDS` sends
// 1212-byte datagrams numbered 0..N-1 (paced every 2 ms like `mbms-srtp send`); `rx HOST PORT` counts them
// until SIGINT. Each prints one JSON line shaped like the CLI's --json summaries (packets, first/last,
// lost, cpu µs per packet), so bench/linerate.mjs reads all three modes the same way.
import dgram from "node:dgram";

const [role, host, portArg, ppsArg, secondsArg] = process.argv.slice(2);
const port = Number(portArg);
const BYTES = 1212;
const MAX_IN_FLIGHT = 8192;
const multicast = Number(host.split(".")[0]) >= 224;
let cpu0;
const usPer = (n) => {
  const d = process.cpuUsage(cpu0);
  return n > 0 ? (d.user + d.system) / n : null;
};

if (role === "tx") {
  const pps = Number(ppsArg);
  const seconds = Number(secondsArg);
  const sock = dgram.createSocket("udp4");
  sock.bind(0, "127.0.0.1", () => {
    if (multicast) sock.setMulticastInterface("127.0.0.1");
    console.log("key server none");
    cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let sent = 0;
    let inFlight = 0;
    const finish = () => sock.close(() => console.log(JSON.stringify({ sender: { packets: sent, tekSwitches: 0, cpu: { usPerPacket: usPer(sent) } } })));
    const pace = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = Math.min(Math.floor((elapsed / 1000) * pps) + 1, Math.ceil(seconds * pps));
      const end = elapsed >= seconds * 1000;
      // At most MAX_IN_FLIGHT sends queued in libuv: past the kernel's rate an unbounded queue grew to
      // gigabytes and the process was killed (a trial without a result). Behind schedule, the trial fails
      // on its own (fewer than 99 % of the scheduled packets sent).
      for (; sent < due && inFlight < MAX_IN_FLIGHT; sent++) {
        const b = Buffer.allocUnsafe(BYTES);
        b.writeUInt32BE(sent, 12);
        inFlight++;
        sock.send(b, 0, BYTES, port, host, () => inFlight--);
      }
      if (end) {
        clearInterval(pace);
        setTimeout(finish, 200); // closing at once would cancel the sends still queued
      }
    }, 2);
  });
} else {
  const sock = dgram.createSocket({ type: "udp4", reuseAddr: multicast });
  const seen = new Uint8Array(1 << 24);
  let delivered = 0, first = -1, last = -1;
  sock.on("message", (m) => {
    if (cpu0 === undefined) cpu0 = process.cpuUsage();
    const n = m.readUInt32BE(12);
    if (seen[n]) return;
    seen[n] = 1;
    delivered++;
    if (first < 0 || n < first) first = n;
    if (n > last) last = n;
  });
  sock.bind(port, host, () => {
    if (multicast) sock.addMembership(host, "127.0.0.1");
    sock.setRecvBufferSize(8 << 20);
  });
  process.on("SIGINT", () => {
    const lost = first < 0 ? 0 : last - first + 1 - delivered;
    console.log(JSON.stringify({ delivered, firstPacket: first, lastPacket: last, lost, authFailed: 0, badPackets: 0, switches: 0, rekeys: 0, cpu: { usPerPacket: usPer(delivered) } }));
    process.exit(0);
  });
}
