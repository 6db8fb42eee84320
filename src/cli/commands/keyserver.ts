/** `mbms-srtp keyserver`: the BM-SC's session manager and HTTP key server (../bmsc.ts) without a sender. */
import { BMSC_CONFIG_KEYS, BMSC_OPTIONS, CONFIG_HELP, CORS_USAGE, LEASE_USAGE, STORE_USAGE, bmscConfig, runBmscCommand, type BmscValues } from "../bmsc-command.js";
import { numberOption } from "../option-values.js";
import { DERIVATION_USAGE, PROFILE_USAGE } from "../profile-option.js";
import { SIGNALS_HELP } from "../signals.js";
import { UsageError } from "../usage-error.js";
import type { CommandIo } from "../command.js";

export const usage = `Usage: mbms-srtp keyserver --config FILE.json [options]

Runs the BM-SC's session manager and HTTP key server for the config's services and users, until Ctrl-C.
Prints "key server http://HOST:PORT" first.

Options:
  --config <file>          services and users (alias: --users)
  --port <port>            key server port (default 0: any free port)
  --host <addr>            key server address (default 127.0.0.1)
${STORE_USAGE}
${LEASE_USAGE}
${CORS_USAGE}
${PROFILE_USAGE}; sets every service's
${DERIVATION_USAGE}
  --duration <seconds>     stop after this long (default: until Ctrl-C)
  --json                   print the summary as one JSON line
  -h, --help               this help

Exit status: 0 at the end of the run, 2 on a usage error. ${SIGNALS_HELP}

${CONFIG_HELP}`;

/** send's too: the two read the same config file. */
export const options = BMSC_OPTIONS;
export const configKeys = BMSC_CONFIG_KEYS;

export async function run(values: BmscValues, io: CommandIo): Promise<number> {
  const config = bmscConfig(values);
  if (!config) throw new UsageError("--config is required");
  const keyPort = Math.floor(numberOption("port", values.port ?? values["key-port"], 0, 0, 65535));
  return runBmscCommand({ config, keyPort, keyHost: values.host ?? values["key-host"] ?? "127.0.0.1" }, values, io);
}
