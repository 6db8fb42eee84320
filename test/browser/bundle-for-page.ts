// Bundles a test entry (TypeScript, JSON) into one ES module for a page, leaving every import of the
// built library (dist/) to the page's server: the bundle then runs the library exactly as published.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { build, type Metafile } from "esbuild";

export interface PageBundle {
  /** The bundle on disk (in a fresh temporary directory). */
  file: string;
  /** The files bundled in, relative to `root`. */
  inputs: string[];
  /** The imports left to the page, as URL paths (/dist/…). */
  external: string[];
}

export async function bundleForPage(root: string, entry: string): Promise<PageBundle> {
  const file = join(mkdtempSync(join(tmpdir(), "mbms-srtp-bundle-")), "bundle.js");
  const dist = join(root, "dist");
  const { metafile } = await build({
    entryPoints: [entry], outfile: file, bundle: true, format: "esm", platform: "browser", target: "es2022", metafile: true, logLevel: "silent",
    plugins: [{
      name: "dist-from-server",
      setup(b) {
        b.onResolve({ filter: /\/dist\// }, (args) => {
          const path = resolve(args.resolveDir, args.path);
          return path.startsWith(dist + "/") ? { path: "/" + relative(root, path), external: true } : undefined;
        });
      },
    }],
  });
  return { file, inputs: Object.keys(metafile.inputs).map((p) => relative(root, resolve(p))), external: externalImports(metafile) };
}

const externalImports = (metafile: Metafile) =>
  Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
