/** A command-line mistake (bad option, bad file given as an option): `mbms-srtp` prints it and exits 2. */
export class UsageError extends Error {}
