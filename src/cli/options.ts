/**
 * Command-line options with an optional JSON config file (`--config FILE`): its top-level keys are the long
 * option names, with the values one would type (strings or numbers; true for a switch), and the command
 * line wins over the file. So keys need not appear on the command line (where `ps` shows them):
 *   { "group": "239.1.2.3:5004", "key-server": "http://127.0.0.1:8443", "user": "sip:ue@x", "kek": "00…0f" }
 * Keys a command reads from the file itself (send's "services" and "users") are passed as `commandKeys`.
 * Errors name the file and the key, never a value.
 */
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./usage-error.js";

type OptionsConfig = ParseArgsConfig & { options: NonNullable<ParseArgsConfig["options"]> };
export type ParsedOptions<T extends OptionsConfig> = ReturnType<typeof parseArgs<T>>["values"];

/** The JSON object in `path`, or a UsageError naming the file. */
export function readJsonObject(path: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`${path}: ${e instanceof SyntaxError ? "not valid JSON" : (e as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new UsageError(`${path}: expected a JSON object`);
  return raw as Record<string, unknown>;
}

/** parseArgs (strict, no positionals) of `args`, under the options of the `--config` file when one is given. */
export function parseOptions<T extends OptionsConfig>(config: T, commandKeys: readonly string[] = []): ParsedOptions<T> {
  const parse = (args: string[]) => parseArgs({ ...config, args, strict: true, allowPositionals: false }).values as ParsedOptions<T>;
  const args = [...(config.args ?? [])];
  const first = parse(args);
  const path = (first as Record<string, unknown>).config;
  if (typeof path !== "string") return first;
  const fromFile: string[] = [];
  for (const [key, value] of Object.entries(readJsonObject(path))) {
    if (commandKeys.includes(key)) continue;
    const spec = config.options[key];
    if (spec === undefined || key === "config" || key === "help") throw new UsageError(`${path}: unknown option "${key}"`);
    if (spec.type === "boolean") {
      if (typeof value !== "boolean") throw new UsageError(`${path}: "${key}" must be true or false`);
      if (value) fromFile.push(`--${key}`);
    } else {
      if (typeof value !== "string" && typeof value !== "number") throw new UsageError(`${path}: "${key}" must be a string or a number`);
      fromFile.push(`--${key}=${value}`);
    }
  }
  // A string option given twice keeps the last: the command line comes after the file. A repeatable one
  // (multiple: true, e.g. --origin) keeps all, the file's first.
  return parse([...fromFile, ...args]);
}
