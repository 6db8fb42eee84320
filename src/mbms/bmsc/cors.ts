/**
 * CORS for the key server (Fetch standard §3.2, "CORS protocol"), so that a web page (the browser receiver
 * behind the relay) can key itself with fetch. Its request is not "simple" (JSON body, the authentication
 * headers of http-protocol.ts), so the browser first sends a preflight `OPTIONS /mbms/v1/keys`.
 *
 * Only exact origins of the list are answered: allow-origin echoes the request's Origin (never "*", and no
 * credentials: the request carries its own MAC, no cookie); every answer says `vary: origin` so that a cache
 * keeps one per origin. Exposed to the page: the re-key window headers and retry-after, which the key client
 * reads. An origin not in the list gets no CORS header, and its preflight 403.
 */
import { parseOrigin } from "../../origin.js";
import { MbmsError } from "../errors.js";
import {
  HEADER_AUTHORIZATION, HEADER_NONCE, HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, HEADER_TIME, HEADER_USER, KEYS_METHOD,
} from "../http-protocol.js";

const ALLOW_HEADERS = ["content-type", HEADER_USER, HEADER_TIME, HEADER_NONCE, HEADER_AUTHORIZATION].join(", ");
const EXPOSE_HEADERS = [HEADER_REKEY_FROM, HEADER_REKEY_WINDOW, "retry-after"].join(", ");
/** How long a browser may reuse a preflight's answer (Chromium caps it at 2 h). */
const MAX_AGE_S = 600;

export class KeyServerCors {
  private readonly origins: ReadonlySet<string>;

  /** `origins`: http(s) origins, compared as browsers serialize them (a path or another scheme is an MbmsError ERR_ARGUMENT). */
  constructor(origins: readonly string[]) {
    this.origins = new Set(origins.map((o) => {
      const origin = parseOrigin(o);
      if (origin === undefined) throw new MbmsError("ERR_ARGUMENT", `CORS: not an http(s) origin: ${o}`);
      return origin;
    }));
  }

  /** Headers of any answer to a request with this Origin header. */
  answerHeaders(origin: string | undefined): Record<string, string> {
    if (origin === undefined || !this.origins.has(origin)) return { vary: "origin" };
    return { vary: "origin", "access-control-allow-origin": origin, "access-control-expose-headers": EXPOSE_HEADERS };
  }

  /** Headers of the 204 answer to a preflight from this origin; undefined: refuse it (403). */
  preflightHeaders(origin: string | undefined): Record<string, string> | undefined {
    if (origin === undefined || !this.origins.has(origin)) return undefined;
    return {
      ...this.answerHeaders(origin),
      "access-control-allow-methods": KEYS_METHOD, "access-control-allow-headers": ALLOW_HEADERS, "access-control-max-age": String(MAX_AGE_S),
    };
  }
}
