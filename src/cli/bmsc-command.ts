/**
 * What `send` and `keyserver` share (commands/send.ts, commands/keyserver.ts): one set of options (they read
 * the same config file, so each accepts the other's keys), the config file's help, the services and users
 * of --config with --profile applied, and the run of the BM-SC (bmsc.ts) with its summary or JSON.
 */
import { bmscSummary, loadConfig, runBmsc, type BmscConfig, type BmscOptions } from "./bmsc.js";
import { durationOption, numberOption, originsOption } from "./option-values.js";
import { derivationOption, profileOption } from "./profile-option.js";
import { storeTarget, type StoreTarget } from "./store-option.js";
import { UsageError } from "./usage-error.js";
import { DEFAULT_LEASE_TTL_MS } from "../mbms/bmsc/index.js";
import type { CommandIo, OptionValues } from "./command.js";

export const BMSC_OPTIONS = {
  config: { type: "string" }, users: { type: "string" }, store: { type: "string" }, duration: { type: "string" },
  port: { type: "string" }, host: { type: "string" }, "key-port": { type: "string" }, "key-host": { type: "string" },
  dest: { type: "string" }, service: { type: "string" }, bitrate: { type: "string" }, "packet-size": { type: "string" },
  "multicast-ttl": { type: "string" }, "multicast-interface": { type: "string" },
  "rtp-in": { type: "string" }, "idle-timeout": { type: "string" }, plain: { type: "boolean", default: false }, "crypto-workers": { type: "string" },
  "srtp-key-file": { type: "string" }, "srtp-profile": { type: "string" }, "sdp-in": { type: "string" }, "sdp-out": { type: "string" },
  profile: { type: "string" }, derivation: { type: "string" }, "cors-origin": { type: "string", multiple: true }, io: { type: "string" },
  "schedule-lease": { type: "string" }, json: { type: "boolean", default: false },
} as const;

export type BmscValues = OptionValues<typeof BMSC_OPTIONS>;

/** The config file's keys that are not options. */
export const BMSC_CONFIG_KEYS = ["services", "users"] as const;

export const CONFIG_HELP = `Config file (JSON; KEKs are 32 or 64 hex digits); any other key is an option's long name (flags win):
  { "services": [{ "serviceId": "urn:mbms:demo:1", "tekRand2PeriodMs": 1000, "tgkLifetimeMs": 4000 }],
    "users": [{ "userId": "sip:ue-me@demo.invalid", "kek": "000102…0f", "services": ["urn:mbms:demo:1"] }], "dest": "239.1.2.3:5004" }
A service's "profile" is its SRTP profile (default AES_CM_128_HMAC_SHA1_80; --profile sets every service's).
A user's "services": what it gets keys for (absent: every service in the file). With --store, the store's
users are made those of the file at every start: changed KEKs take effect, unlisted users are disabled.`;

/** The usage lines of --store (send and keyserver). */
export const STORE_USAGE = `  --store <file | url>     the key store: an SQLite file (created if absent), or a PostgreSQL database
                           postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=verify-full&…], one for all
                           BM-SC instances (tables created if absent; printed without the password);
                           default: in memory`;

/** The usage lines of --schedule-lease (send and keyserver). */
export const LEASE_USAGE = `  --schedule-lease <ms>    several instances on one --store: each service's schedule (TEK_RAND2, TGKs) is
                           run by the one holding its lease in the store, for this long per renewal; the
                           others announce what the store holds (default ${DEFAULT_LEASE_TTL_MS} with a postgres:// store,
                           else 0: off, this instance runs every schedule)`;

/** --schedule-lease: the lease time in ms, undefined when off (0; the default except on PostgreSQL). */
export function leaseOption(value: string | undefined, store: StoreTarget): number | undefined {
  const ms = Math.floor(numberOption("schedule-lease", value, store.kind === "postgres" ? DEFAULT_LEASE_TTL_MS : 0, 0, 3_600_000));
  if (ms > 0 && ms < 30) throw new UsageError("--schedule-lease must be 0 (off) or at least 30 ms");
  return ms === 0 ? undefined : ms;
}

/** The usage line of --cors-origin (send and keyserver). */
export const CORS_USAGE = `  --cors-origin <origin>   a web origin whose pages may call the key server with fetch (CORS), e.g. the
                           relay's page http://127.0.0.1:8080; repeatable or comma-separated (default: none)`;

/** The services and users of --config (alias --users), every service with --profile's profile when given; undefined without the option. */
export function bmscConfig(values: BmscValues): BmscConfig | undefined {
  const path = values.config ?? values.users;
  const profile = profileOption(values.profile);
  derivationOption(values.derivation); // a usage error before any other
  if (path === undefined) return undefined;
  const config = loadConfig(path);
  return profile === undefined ? config : { ...config, services: config.services.map((s) => ({ ...s, profile })) };
}

/** Runs the BM-SC until --duration or a signal, prints its summary (or JSON) and returns the exit status. */
export async function runBmscCommand(o: Pick<BmscOptions, "config" | "keyPort" | "keyHost" | "send">, values: BmscValues, io: CommandIo): Promise<number> {
  const derivation = derivationOption(values.derivation);
  const store = storeTarget(values.store);
  const leaseMs = leaseOption(values["schedule-lease"], store);
  const result = await runBmsc({
    ...o, corsOrigins: originsOption("cors-origin", values["cors-origin"]), store, durationS: durationOption(values.duration), json: values.json, out: io.out, signal: io.signal,
    ...(derivation ? { derivation } : {}), ...(leaseMs === undefined ? {} : { leaseMs }),
  });
  io.out.write((values.json ? JSON.stringify(result) : bmscSummary(result)) + "\n");
  return result.ok ? 0 : 1;
}
