/**
 * The `time` of the writer's own records (FORMAT.md §5.8). The app's records carry the
 * app's clock, stamped at the log call; the writer's records are written later, in
 * another thread. Stamped with the writer's clock alone, a `chain.open` would read as
 * later than the app records after it, and a `chain.close` could read as earlier than
 * the record it seals, so log viewers that sort by time would show them out of place.
 */

// How far a neighbour's time may lie from the writer's clock and still be followed.
// The app and the writer share one clock (one process), so a real gap is the worker's
// start-up or queueing delay — well under a minute; a larger one is a clock that was
// set (or a time in other units), and following it would carry the writer's records
// far into the past or future.
export const CLOCK_FOLLOW_MS = 60_000

/** A record's `time` member as FORMAT.md §10.2 reads it: a finite number, else undefined. */
export function finiteTime (value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

// ECMAScript's Date range: ±8.64e15 ms around 1970 (ECMA-262 §21.4.1.1); beyond it toISOString throws.
const MAX_DATE_MS = 8.64e15

/**
 * A record's `time` when a Date can hold it, else undefined: for the verifier's chain
 * summaries and readAuditLog's entries, which write it as ISO 8601 only when needed.
 */
export function dateTime (value: unknown): number | undefined {
  const t = finiteTime(value)
  return t !== undefined && Math.abs(t) <= MAX_DATE_MS ? t : undefined
}

/** A record body's time (FORMAT.md §10.2): its top-level numeric `time`, else undefined. */
export function recordTime (body: string | undefined): number | undefined {
  if (body === undefined) return undefined
  try {
    return finiteTime((JSON.parse(body) as { time?: unknown }).time)
  } catch {
    return undefined
  }
}

/**
 * The time of a control record written at `now` after a record of time `previous`:
 * never earlier than `previous`, unless `previous` lies more than a minute ahead of
 * the writer's clock (then `now`: the writer does not follow a clock into the future).
 */
export function controlTime (now: number, previous: number | undefined): number {
  return previous !== undefined && previous > now && previous - now <= CLOCK_FOLLOW_MS ? previous : now
}

/**
 * The time of a writer's first record (chain.open / chain.resume), which it writes
 * once the first line arrives: its start time `started`, but no later than `next`,
 * that first line's time, when the app logged it at most a minute before the writer
 * started (pino stamps a line at the log call, and an app logs before its transport's
 * thread is up); then, as for every control record, no earlier than `previous`.
 */
export function firstRecordTime (started: number, previous: number | undefined, next: number | undefined): number {
  const base = next !== undefined && next < started && started - next <= CLOCK_FOLLOW_MS ? next : started
  return previous !== undefined && previous > base && previous - started <= CLOCK_FOLLOW_MS ? previous : base
}
