// An in-process card for UICC-mode UEs: the KEK is written to a SoftCard here, then only APDUs cross
// the UiccProxy (each answered a microtask later, as a Worker's would be).
import { SoftCard } from "../../src/mbms/uicc/soft-card.js";
import { UiccProxy } from "../../src/mbms/uicc/uicc-proxy.js";

export function inProcessCard(kek: Uint8Array): UiccProxy {
  const card = new SoftCard(kek);
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
