/**
 * What a `mbms-srtp` subcommand is (src/cli/commands/<name>.ts): its usage text, its node:util parseArgs
 * options, and `run`, which gets the parsed values and returns the exit status. main.ts parses (with the
 * --config file, see options.ts), answers --help, and runs the command under the shared signal handling.
 */
import type { ParseArgsConfig } from "node:util";
import type { ParsedOptions } from "./options.js";

export type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

/** The values parsed for `options` (with the -h/--help every command has). */
export type OptionValues<O extends OptionSpecs> = ParsedOptions<{ options: O & typeof HELP_OPTION }>;

export const HELP_OPTION = { help: { type: "boolean", short: "h", default: false } } as const;

/** What a command's run writes to and stops on. */
export interface CommandIo {
  out: NodeJS.WriteStream;
  /** Aborted by the first SIGINT or SIGTERM (signals.ts): stop as at the normal end. */
  signal: AbortSignal;
}

export interface Command<O extends OptionSpecs = OptionSpecs> {
  usage: string;
  options: O;
  /** Top-level keys of the --config file that the command reads itself, not options (send's "services"). */
  configKeys?: readonly string[];
  /** 0: ok, 1: the run failed its checks; a UsageError or ConfigError thrown is exit status 2. */
  run(values: OptionValues<O>, io: CommandIo): Promise<number>;
}
