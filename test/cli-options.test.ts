// src/cli/options.ts: command-line options with an optional JSON config file (--config): the file's keys are
// long option names, the command line wins, unknown keys and wrong types are usage errors that never show a value.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseOptions } from "../src/cli/options.js";
import { originsOption } from "../src/cli/option-values.js";
import { UsageError } from "../src/cli/usage-error.js";

const dir = mkdtempSync(join(tmpdir(), "mbms-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, body: string) => {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
};
const options = {
  config: { type: "string" }, kek: { type: "string" }, port: { type: "string" }, user: { type: "string" },
  json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
} as const;
const parse = (args: string[], commandKeys: string[] = []) => parseOptions({ args, options }, commandKeys);
const SECRET = "5ec2e75ec2e75ec2e75ec2e75ec2e75e";

describe("parseOptions with --config", () => {
  it("takes options from the file, and the command line wins", () => {
    const cfg = file("a.json", JSON.stringify({ kek: SECRET, port: 5004, user: "sip:a", json: true }));
    expect(parse(["--config", cfg])).toMatchObject({ kek: SECRET, port: "5004", user: "sip:a", json: true });
    expect(parse(["--config", cfg, "--user", "sip:b", "--port=6000"])).toMatchObject({ kek: SECRET, port: "6000", user: "sip:b" });
    expect(parse(["--user", "sip:c"])).toMatchObject({ user: "sip:c", json: false });
  });

  it("skips the command's own keys, refuses unknown keys and wrong types without showing values", () => {
    expect(parse(["--config", file("b.json", JSON.stringify({ users: [{ kek: SECRET }], port: "1" }))], ["users"])).toMatchObject({ port: "1" });
    const cases: [string, RegExp][] = [
      [JSON.stringify({ users: [], kekk: SECRET }), /unknown option "users"|unknown option "kekk"/],
      [JSON.stringify({ kek: [SECRET] }), /"kek" must be a string or a number/],
      [JSON.stringify({ json: "yes" }), /"json" must be true or false/],
      [JSON.stringify({ config: "other.json" }), /unknown option "config"/],
      [JSON.stringify([SECRET]), /expected a JSON object/],
      [`{"kek": "${SECRET}",`, /not valid JSON/],
    ];
    for (const [body, re] of cases) {
      const path = file("bad.json", body);
      let error: unknown;
      try {
        parse(["--config", path]);
      } catch (e) {
        error = e;
      }
      expect(error, body).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(re);
      expect((error as Error).message).not.toContain(SECRET);
    }
    expect(() => parse(["--config", join(dir, "missing.json")])).toThrow(UsageError);
  });
});

describe("originsOption (relay --origin, keyserver/send --cors-origin)", () => {
  const parseOrigins = (args: string[]) =>
    originsOption("origin", parseOptions({ args, options: { config: { type: "string" }, origin: { type: "string", multiple: true } } }).origin);

  it("takes repeated and comma-separated values, from the file too, as browsers serialize origins", () => {
    expect(parseOrigins(["--origin", "https://tv.example,http://127.0.0.1:8080/", "--origin=HTTP://LOCALHOST:80"]))
      .toEqual(["https://tv.example", "http://127.0.0.1:8080", "http://localhost"]);
    const cfg = file("o.json", JSON.stringify({ origin: "https://a.example, https://b.example" }));
    expect(parseOrigins(["--config", cfg, "--origin", "https://c.example"])).toEqual(["https://a.example", "https://b.example", "https://c.example"]);
    expect(parseOrigins([])).toBeUndefined();
  });

  it("refuses a value that is not an http(s) origin", () => {
    for (const bad of ["tv.example", "https://tv.example/page", "ws://tv.example", "null", "*", "https://u:p@tv.example"]) {
      expect(() => parseOrigins(["--origin", bad])).toThrow(UsageError);
    }
  });
});
