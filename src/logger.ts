/**
 * The roles' log: a function of level, message and fields. Log lines carry identifiers, times and counts
 * only — never key bytes, TEK_RAND(2), MKIs or nonces.
 */
export interface LogFields {
  [k: string]: string | number | boolean | undefined;
}

export type Logger = (level: "info" | "warn" | "error", message: string, fields?: LogFields) => void;

/** The BM-SC's default: `[bmsc] message {fields}`, one line per event on the console. */
export const consoleLogger: Logger = (level, message, fields) => {
  const line = fields ? `${message} ${JSON.stringify(fields)}` : message;
  (level === "info" ? console.info : level === "warn" ? console.warn : console.error)(`[bmsc] ${line}`);
};

export const silentLogger: Logger = () => {};
