/**
 * Web origins as browsers send them in the Origin header (RFC 6454 §6.1): "scheme://host[:port]", lowercase,
 * no default port, no path. Shared by the key server's CORS list and the relay's WebSocket origin check, which
 * compare the header with their lists as exact strings. Pure: runs in browsers.
 */

/** `s` serialized as an http(s) origin, or undefined when it is not one (a path, a query, "null", another scheme). */
export function parseOrigin(s: string): string | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return undefined;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
  if (u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "") return undefined;
  if (u.pathname !== "/" || !/^https?:\/\/[^/]+\/?$/i.test(s)) return undefined;
  return u.origin;
}
