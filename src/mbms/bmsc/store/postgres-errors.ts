// No error of the pg driver leaves the PostgreSQL store: its messages and fields may quote SQL, and the
// `detail` of a constraint violation quotes the row ("Failing row contains (alice, \x…)") — key bytes.
// Only the SQLSTATE (or, for a connection failure, the error's class and errno code) is kept.
import { MbmsError } from "../../errors.js";

const field = (e: unknown, name: string): string | undefined => {
  const v = (e as Record<string, unknown> | null)?.[name];
  return typeof v === "string" ? v : undefined;
};

/** A SQLSTATE: five digits or upper-case letters (errno codes such as ECONNREFUSED are longer). */
const sqlState = (e: unknown): string | undefined => {
  const code = field(e, "code");
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
};

/** Turns anything a pg call threw into an MbmsError that names `what` and a code, never a value. */
export function pgStoreError(e: unknown, what: string): MbmsError {
  if (e instanceof MbmsError) return e;
  const state = sqlState(e);
  if (state === "23505") return new MbmsError("ERR_DUPLICATE", `${what}: already exists`);
  if (state === "23503") return new MbmsError("ERR_NOT_FOUND", `${what}: a user or service it names does not exist`);
  // An id holding NUL (which PostgreSQL text cannot store) or a character the database encoding lacks.
  if (state === "22021" || state === "22P05") return new MbmsError("ERR_ARGUMENT", `${what}: an id holds a character the database cannot store`);
  if (state !== undefined) return new MbmsError("ERR_STORE", `${what} failed (SQLSTATE ${state})`);
  const errno = field(e, "code");
  const kind = e instanceof Error ? e.name : "unknown error";
  return new MbmsError("ERR_STORE", `${what} failed (${errno !== undefined && /^E[A-Z]+$/.test(errno) ? `${kind} ${errno}` : kind})`);
}
