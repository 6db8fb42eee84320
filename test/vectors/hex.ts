// Hex and UTF-8 for the vector suites, without Buffer (they run in a browser Worker too).
export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export function unhex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(s)) throw new Error(`not hex: ${s.slice(0, 16)}…`);
  return Uint8Array.from({ length: s.length / 2 }, (_, i) => parseInt(s.slice(2 * i, 2 * i + 2), 16));
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
