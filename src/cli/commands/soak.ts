/** `mbms-srtp soak`: the options of runSoak (../soak.ts), its report, its exit status. */
import { runSoak, soakSummary } from "../soak.js";
import { numberOption } from "../option-values.js";
import { SIGNALS_HELP } from "../signals.js";
import type { CommandIo, OptionValues } from "../command.js";

export const usage = `Usage: mbms-srtp soak [options]

Runs a BM-SC, one sender per service and an ME and a UICC receiver per service in one process (key server
on 127.0.0.1, packets handed over in memory), prints a progress line every 10 s, then checks what the key
lifecycle promises: TEK switches on schedule, every packet decrypted, no packet under an expired TGK,
key slots and memory bounded, no unscheduled key request.

Options:
  --minutes <n>            how long (default 1; --seconds for short runs)
  --seconds <n>
  --tek-period <ms>        TEK_RAND2 period (default 1000)
  --tgk-lifetime <ms>      TGK lifetime (default 10000)
  --services <n>           services at once (default 1, at most 4)
  --rate <pkt/s>           real packets per second per service (default 2000)
  --forged <n>             forged packets injected per real packet (default 0)
  --json                   print the report as JSON
  -h, --help               this help

Exit status: 0 if every check passed, 1 otherwise, 2 on a usage error. ${SIGNALS_HELP}`;

export const options = {
  config: { type: "string" }, minutes: { type: "string" }, seconds: { type: "string" }, "tek-period": { type: "string" }, "tgk-lifetime": { type: "string" },
  services: { type: "string" }, rate: { type: "string" }, forged: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

export async function run(values: OptionValues<typeof options>, io: CommandIo): Promise<number> {
  const seconds = values.seconds !== undefined
    ? numberOption("seconds", values.seconds, 60, 1, 86_400)
    : 60 * numberOption("minutes", values.minutes, 1, 0.05, 1440);
  const report = await runSoak({
    signal: io.signal,
    durationMs: seconds * 1000,
    tekPeriodMs: Math.floor(numberOption("tek-period", values["tek-period"], 1000, 5, 3_600_000)),
    tgkLifetimeMs: Math.floor(numberOption("tgk-lifetime", values["tgk-lifetime"], 10_000, 50, 86_400_000)),
    services: Math.floor(numberOption("services", values.services, 1, 1, 4)),
    packetsPerSecond: numberOption("rate", values.rate, 2000, 1, 100_000),
    forgedPerPacket: Math.floor(numberOption("forged", values.forged, 0, 0, 100)),
    ...(values.json ? {} : { progress: (line: string) => io.out.write(line + "\n") }),
  });
  io.out.write((values.json ? JSON.stringify(report, null, 2) : soakSummary(report)) + "\n");
  return report.ok ? 0 : 1;
}
