// An in-process card for UICC-mode UEs: a SoftCard (its KEK written to it by the caller) behind a UiccProxy
// that only APDUs cross (each answered a microtask later, as a Worker's would be).
import type { SoftCard } from "../../src/mbms/uicc/soft-card.js";
import { UiccProxy } from "../../src/mbms/uicc/uicc-proxy.js";

export function inProcessCard(card: SoftCard): UiccProxy {
  let respond: ((r: { id: number; apdu: ArrayBuffer }) => void) | undefined;
  return new UiccProxy({
    post: (r) => {
      const out = card.process(new Uint8Array(r.apdu));
      queueMicrotask(() => respond!({ id: r.id, apdu: out.slice().buffer }));
    },
    listen: (onResponse) => { respond = onResponse; },
    terminate: async () => {},
  });
}
