// A minimal static file server on 127.0.0.1 (ephemeral port) for the browser tests.
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join, normalize } from "node:path";

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".map": "application/json" };

/** Serves `routes` (URL path → file) and files under `root` for paths starting with one of `prefixes`. */
export async function serveStatic(
  root: string,
  prefixes: string[],
  routes: Record<string, string>,
): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const file = routes[path] ?? (prefixes.some((p) => path.startsWith(p)) ? join(root, path) : undefined);
    try {
      if (!file) throw new Error("not served");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { url: `http://127.0.0.1:${address.port}`, server };
}
