// The README's Errors section against the code: each error class's table lists exactly the codes of its
// union type (read from the source with the TypeScript parser), and the key server's table exactly the
// JSON error-body codes. A code added to the code and not to the README (or left in the README after it
// went away) fails here.
import { readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");

/** The string literals of `export type <name> = "a" | "b" …` in a source file. */
function unionMembers(path: string, typeName: string): string[] {
  const file = ts.createSourceFile(path, readFileSync(new URL(path, root), "utf8"), ts.ScriptTarget.Latest, true);
  const alias = file.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === typeName);
  if (!alias || !ts.isUnionTypeNode(alias.type)) throw new Error(`${typeName} is not a union in ${path}`);
  return alias.type.types.map((t) => {
    if (!ts.isLiteralTypeNode(t) || !ts.isStringLiteral(t.literal)) throw new Error(`${typeName}: a member that is not a string literal`);
    return t.literal.text;
  });
}

/** The first-column codes of the table under the README heading `### <title>`. */
function tableCodes(title: string): string[] {
  const start = readme.indexOf(`\n### ${title}\n`);
  if (start < 0) throw new Error(`README has no section ${title}`);
  const end = readme.slice(start + 1).search(/\n#{2,3} /);
  const section = readme.slice(start, end < 0 ? undefined : start + 1 + end);
  return [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]!);
}

const CLASSES = [
  ["`CoreError`", "src/errors.ts", "CoreErrorCode"],
  ["`SrtpError`", "src/srtp/errors.ts", "SrtpErrorCode"],
  ["`MikeyError`", "src/mikey/errors.ts", "MikeyErrorCode"],
  ["`MbmsError`", "src/mbms/errors.ts", "MbmsErrorCode"],
  ["`UiccError`", "src/mbms/uicc/errors.ts", "UiccErrorCode"],
  ["`H264Error`", "src/media/h264/errors.ts", "H264ErrorCode"],
  ["`BrowserReceiverError`", "src/browser/errors.ts", "BrowserErrorCode"],
  ["`UdpError`", "src/net/udp-error.ts", "UdpErrorCode"],
  ["Key server responses", "src/mbms/http-protocol.ts", "ErrorBodyCode"],
] as const;

describe("README Errors section", () => {
  for (const [title, path, typeName] of CLASSES) {
    it(`${title} lists exactly the codes of ${typeName}`, () => {
      expect(tableCodes(title).sort()).toEqual(unionMembers(path, typeName).sort());
    });
  }
});
