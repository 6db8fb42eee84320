// Shared by the key-store suites (test/bmsc-store*.test.ts): byte helpers, a service, and codeOf for the
// typed errors of the synchronous and the asynchronous stores.
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { MbmsError } from "../../src/mbms/errors.js";
import type { NewService } from "../../src/mbms/bmsc/store/index.js";

export const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
export const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
export const rnd = (n: number) => new Uint8Array(randomBytes(n));

export const service = (serviceId: string, extra: Partial<NewService> = {}): NewService => ({
  serviceId, csbId: 0x12345678, csId: 1, srtpProfile: "AES_CM_128_HMAC_SHA1_80", tekRand: bytes(16, 0x20), ...extra,
});

/** The MbmsError `e` must be; its code. */
function mbmsCode(e: unknown): string {
  expect(e).toBeInstanceOf(MbmsError);
  return (e as MbmsError).code;
}

/** Calls fn, expects it to throw an MbmsError, and returns its code. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return mbmsCode(e);
  }
  throw new Error("expected an MbmsError");
}

/** Calls fn, expects a promise (an asynchronous store never throws out of a call) rejected with an MbmsError: its code. */
export async function asyncCodeOf(fn: () => Promise<unknown>): Promise<string> {
  return mbmsCode(await errorOf(fn));
}

/** Calls fn, expects a promise, and returns what it was rejected with. */
export async function errorOf(fn: () => Promise<unknown>): Promise<unknown> {
  let p: Promise<unknown>;
  try {
    p = fn();
  } catch (e) {
    throw new Error(`the call threw instead of rejecting: ${String(e)}`);
  }
  expect(p).toBeInstanceOf(Promise);
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}
