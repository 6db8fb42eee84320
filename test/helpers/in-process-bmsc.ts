// The BM-SC roles in one test process: a MemoryKeyStore, a SessionManager on a ManualClock, its key server
// on 127.0.0.1 and `senders` MbmsSenders on the first service (the first one started); `cleanup` stops them.
import { createKeyServer } from "../../src/mbms/bmsc/key-server.js";
import { MbmsSender } from "../../src/mbms/bmsc/mbms-sender.js";
import { SessionManager } from "../../src/mbms/bmsc/session-manager.js";
import type { ServiceConfig } from "../../src/mbms/bmsc/service-config.js";
import type { SessionManagerOptions } from "../../src/mbms/bmsc/session-options.js";
import { MemoryKeyStore } from "../../src/mbms/bmsc/store/index.js";
import { silentLogger } from "../../src/logger.js";
import { ManualClock } from "./manual-clock.js";

export interface InProcessBmsc {
  clock: ManualClock;
  store: MemoryKeyStore;
  mgr: SessionManager;
  port: number;
  /** The first sender, started. */
  sender: MbmsSender;
  /** All senders asked for (the first included), each on the first service. */
  senders: MbmsSender[];
  cleanup(): Promise<void>;
}

export type InProcessBmscOptions = Omit<SessionManagerOptions, "store" | "clock" | "services"> & { services: ServiceConfig[]; senders?: number };

export async function startInProcessBmsc(opts: InProcessBmscOptions): Promise<InProcessBmsc> {
  const { senders: count = 1, ...managerOptions } = opts;
  if (count < 1) throw new Error("at least one sender");
  const clock = new ManualClock(1_800_000_000_000);
  const store = new MemoryKeyStore();
  const mgr = await SessionManager.create({ logger: silentLogger, ...managerOptions, store, clock });
  const ks = createKeyServer({ manager: mgr, logger: silentLogger });
  const { port } = await ks.listen(0, "127.0.0.1");
  await mgr.start();
  const serviceId = opts.services[0]!.serviceId;
  const senders = Array.from({ length: count }, () => new MbmsSender({ manager: mgr, serviceId }));
  await senders[0]!.start();
  const cleanup = async () => {
    for (const s of senders) s.close();
    await mgr.stop();
    await ks.close();
    store.close();
  };
  return { clock, store, mgr, port, sender: senders[0]!, senders, cleanup };
}
