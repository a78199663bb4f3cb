/** A command line the CLI cannot run: printed as one line, exit status 2. */
export class UsageError extends Error {}
