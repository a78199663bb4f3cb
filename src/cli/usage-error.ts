/** A command line the CLI cannot run: printed as one line, exit status 2. */
export class UsageError extends Error {}

/** `--NAME N` as a whole number from `min` to `max`, or a UsageError saying so. */
export function wholeNumber (name: string, text: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!(n >= min && n <= max)) throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${text}")`)
  return n
}
