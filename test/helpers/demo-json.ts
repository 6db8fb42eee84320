// `mbms-srtp demo --json`'s receivers, and the check that both (ME and UICC) decrypted every packet sent.
import { expect } from "vitest";

export interface DemoReceiverJson {
  name: string;
  mode: string;
  delivered: number;
  lost: number;
  authFailed: number;
  replayed: number;
  switches: number;
  rekeys: number;
  mkiPrefix: string;
}

/** An ME and a UICC receiver, each with every one of `sent` packets, ≥ 3 key switches and a re-key. */
export function expectEveryPacketDecrypted(receivers: DemoReceiverJson[], sent: number): void {
  expect(receivers.map((x) => x.mode).sort()).toEqual(["ME", "UICC"]);
  for (const x of receivers) {
    expect({ name: x.name, delivered: x.delivered, lost: x.lost, authFailed: x.authFailed, replayed: x.replayed })
      .toEqual({ name: x.name, delivered: sent, lost: 0, authFailed: 0, replayed: 0 });
    expect(x.switches, x.name).toBeGreaterThanOrEqual(3);
    expect(x.rekeys, x.name).toBeGreaterThanOrEqual(1);
    expect(x.mkiPrefix).toMatch(/^[0-9a-f]{8}$/); // the TGK-ID only, never TEK_RAND2 or key bytes
  }
}
