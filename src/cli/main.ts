#!/usr/bin/env node
/**
 * The `mbms-srtp` command line: dispatches to the subcommands of commands/ (each its usage, options and
 * run). Exit status: the command's (0 ok, 1 failed its checks), 2 on a usage error or an unknown command;
 * SIGINT and SIGTERM as signals.ts says.
 */
import { parseOptions } from "./options.js";
import { ConfigError } from "./bmsc.js";
import { UsageError } from "./usage-error.js";
import { withSignals } from "./signals.js";
import { HELP_OPTION, type Command } from "./command.js";
import * as demo from "./commands/demo.js";
import * as send from "./commands/send.js";
import * as receive from "./commands/receive.js";
import * as keyserver from "./commands/keyserver.js";
import * as soak from "./commands/soak.js";
import * as relay from "./commands/relay.js";

const USAGE = `Usage: mbms-srtp <command> [options]

Commands:
  demo        BM-SC, sender and two receivers (ME and UICC) in one process on 127.0.0.1
  send        BM-SC in one process: key server + SRTP sender (synthetic source, or RTP from a UDP port) to a unicast or multicast address
  receive     one UE (ME or UICC): joins a group or listens on a port, keys itself, decrypts, reports
  keyserver   the BM-SC's key server (and session manager) alone, without sending
  soak        the key lifecycle over many periods (sender, ME and UICC receivers in one process), with checks
  relay       forwards the SRTP stream (UDP, multicast) to web pages over WebSocket, keyless; serves the page

Run "mbms-srtp <command> --help" for a command's options.`;

const COMMANDS: Record<string, Command> = { demo, send, receive, keyserver, soak, relay };

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]! : undefined;
  if (!command) {
    console.error(`mbms-srtp: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    const values = parseOptions({ args, options: { ...command.options, ...HELP_OPTION } }, command.configKeys);
    if (values.help) {
      console.log(command.usage);
      return 0;
    }
    return await withSignals((signal) => command.run(values, { out: process.stdout, signal }));
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`mbms-srtp ${name}: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`mbms-srtp: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
