/**
 * The relay's HTTP answers: the web page's files from folders mounted under URL prefixes, and its
 * non-secret `/config.json`. GET only (405 otherwise). The path is URL-decoded once and refused (404) if any
 * segment starts with "." (so "..", ".", dotfiles, and "%2e%2e" once decoded), holds "\" or NUL, or
 * resolves outside its mount's folder; only regular files are served, streamed (never read whole).
 *
 * Every answer carries `x-content-type-options: nosniff`, `cache-control: no-store` and the Content
 * Security Policy given (contentSecurityPolicy: the page's own scripts and workers, WebAssembly
 * compilation, and connections to the WebSocket and the key server only).
 */
import { open } from "node:fs/promises";
import type http from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { pipeline } from "node:stream";
import { NetError } from "./errors.js";

export interface WebMount {
  /** URL prefix, starting and ending with "/" ("/", "/dist/"). */
  prefix: string;
  dir: string;
}

export interface WebOptions {
  mounts: readonly WebMount[];
  /** Served as `GET /config.json`: nothing secret (the key server's URL, the service id, a default user id). */
  config?: Record<string, unknown>;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm", ".png": "image/png", ".svg": "image/svg+xml",
};

/**
 * The CSP of every answer: scripts and workers from the page's origin, WebAssembly compiled from them
 * ('wasm-unsafe-eval', CSP Level 3), fetch and WebSocket to `connect` only, nothing framed or embedded.
 */
export function contentSecurityPolicy(connect: readonly string[]): string {
  return [
    "default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'", `connect-src 'self' ${connect.join(" ")}`.trimEnd(),
    "img-src 'self'", "style-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join("; ");
}

/** The decoded path of a request target, or undefined when it may not name a file (see the module's comment). */
function requestPath(target: string): string | undefined {
  const raw = target.split(/[?#]/, 1)[0]!;
  if (!raw.startsWith("/")) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (/[\\\0]/.test(path) || path.split("/").some((s) => s.startsWith("."))) return undefined;
  return path;
}

/** The request handler of `web` (undefined: every GET is 404), with `csp` on every answer. */
export function webHandler(web: WebOptions | undefined, csp: string): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const mounts = (web?.mounts ?? []).map((m) => {
    if (!/^\/(?:[^/]+\/)*$/.test(m.prefix)) throw new NetError("ERR_ARGUMENT", `mount prefix must start and end with "/": ${m.prefix}`);
    return { prefix: m.prefix, dir: resolve(m.dir) };
  }).sort((a, b) => b.prefix.length - a.prefix.length);
  const config = web?.config === undefined ? undefined : Buffer.from(JSON.stringify(web.config));
  const headers = { "x-content-type-options": "nosniff", "content-security-policy": csp, "cache-control": "no-store" };

  const refuse = (res: http.ServerResponse, status: 404 | 405) => {
    res.writeHead(status, { ...headers, "content-type": "text/plain; charset=utf-8", ...(status === 405 ? { allow: "GET" } : {}) });
    res.end(status === 404 ? "not found\n" : "method not allowed\n");
  };

  /** The file a decoded path names, or undefined. */
  const locate = (path: string): string | undefined => {
    const m = mounts.find((x) => path.startsWith(x.prefix));
    if (!m) return undefined;
    const rest = path === "/" && m.prefix === "/" ? "index.html" : path.slice(m.prefix.length);
    if (rest === "") return undefined;
    const file = join(m.dir, rest);
    return file.startsWith(m.dir + sep) ? file : undefined;
  };

  const sendFile = async (res: http.ServerResponse, file: string) => {
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      fh = await open(file, "r");
      const st = await fh.stat();
      if (!st.isFile()) throw new Error("not a file");
      res.writeHead(200, { ...headers, "content-type": MIME[extname(file).toLowerCase()] ?? "application/octet-stream", "content-length": st.size });
      pipeline(fh.createReadStream(), res, () => {}); // closes the file and ends or destroys the answer
    } catch {
      await fh?.close().catch(() => undefined);
      if (!res.headersSent) refuse(res, 404);
    }
  };

  return (req, res) => {
    req.on("error", () => {});
    res.on("error", () => {});
    if (req.method !== "GET") return refuse(res, 405);
    const path = requestPath(req.url ?? "");
    if (path === "/config.json" && config) {
      res.writeHead(200, { ...headers, "content-type": MIME[".json"], "content-length": config.length });
      return void res.end(config);
    }
    const file = path === undefined ? undefined : locate(path);
    if (file === undefined) return refuse(res, 404);
    void sendFile(res, file);
  };
}
