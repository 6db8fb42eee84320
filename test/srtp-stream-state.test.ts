// StreamState.nextRocIndex: the one ROC of slack a signalled ROC gets (RFC 3711 §3.3.1, late joiners),
// shared by SrtpContext and the crypto pool's index authority.
import { describe, expect, it } from "vitest";
import { MAX_SRTP_INDEX, StreamState } from "../src/srtp/stream-state.js";

describe("StreamState.nextRocIndex", () => {
  it("offers the next ROC only for an index from a signalled ROC the stream has not reached", () => {
    const state = new StreamState(64);
    expect(state.nextRocIndex(5)).toBe(65536 + 5); // before the first packet ROC 0 stands as signalled
    state.window.commit(5);
    expect(state.nextRocIndex(6)).toBe(-1); // the stream has its own ROC now
    state.setRoc(2);
    const index = state.estimateIndex(7);
    expect(index).toBe(2 * 65536 + 7);
    expect(state.nextRocIndex(index)).toBe(3 * 65536 + 7);
    expect(state.nextRocIndex(3 * 65536 + 7)).toBe(-1); // only one ROC of slack
    state.window.commit(3 * 65536 + 7); // the stream reached past the signalled ROC
    expect(state.nextRocIndex(index)).toBe(-1);
  });

  it("never offers an index past 2^48", () => {
    const state = new StreamState(64);
    state.setRoc(2 ** 32 - 1);
    const index = state.estimateIndex(9);
    expect(index).toBeLessThan(MAX_SRTP_INDEX);
    expect(state.nextRocIndex(index)).toBe(-1);
  });
});
