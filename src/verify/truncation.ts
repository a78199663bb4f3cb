/**
 * The `truncated` member of a `chain.resume` / `chain.open` (FORMAT.md §5.2): at start
 * the writer compared the log's tail with its own signed head file and found less than
 * the head names. The writer says so in a signed record instead of refusing to start,
 * and the verifier reports that record as a problem (§7, `truncated`): a restart must
 * never launder a cut (issue 12, item 2). Here: the sentence a person reads.
 */

const REASONS = ['shorter', 'differs', 'other-chain', 'head-invalid'] as const

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** `ab12cd34ef56…`: enough of a hash to find it again, short enough to read. */
function short (hash: unknown): string {
  return typeof hash === 'string' ? `${hash.slice(0, 12)}…` : JSON.stringify(hash)
}

function seqOf (value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

function cut (from: number, to: number): string {
  if (from > to) return 'no record was cut, yet the log ends elsewhere than its head'
  return from === to ? `record ${from} was cut` : `records ${from}–${to} (${to - from + 1}) were cut`
}

/** A short, safe quote of a member the verifier cannot read. */
function quote (value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/**
 * The finding's message for a restart record whose `truncated` member is not null, or
 * `undefined` when it is null or absent (the writer found the log as its head said).
 * A member that does not have the documented form is still reported: the writer
 * signed that something was wrong, and only it writes this member.
 */
export function truncationMessage (event: string, seq: number, truncated: unknown): string | undefined {
  if (truncated === undefined || truncated === null) return undefined
  const who = event === 'chain.open' ? `the writer started this chain (seq ${seq})` : `the writer restarted at seq ${seq}`
  if (!isObject(truncated) || !(REASONS as readonly unknown[]).includes(truncated.reason)) {
    return `${who} and signed that the log was cut before it, in a form this verifier does not know (truncated: ${quote(truncated)}): records before this restart may be missing`
  }
  const reason = truncated.reason as typeof REASONS[number]
  const head = isObject(truncated.head) ? truncated.head : undefined
  const found = isObject(truncated.found) ? truncated.found : undefined
  if (reason === 'head-invalid' || head === undefined) {
    const detail = typeof truncated.detail === 'string' ? ` (${truncated.detail})` : ''
    return `${who} and could not trust its own head file${detail}: whether records were cut from the log before this restart cannot be told, and the head file was replaced or damaged while the writer was stopped`
  }
  const X = seqOf(head.seq)
  const named = `the head named seq ${String(head.seq)} of chain ${String(head.chainId)} (hash ${short(head.hash)}${typeof head.time === 'string' ? `, written ${head.time}` : ''})`
  const Y = found === undefined ? undefined : seqOf(found.seq)
  const ended = found === undefined ? 'the log held no record of it' : `the log ended at seq ${String(found.seq)} (hash ${short(found.hash)})`
  if (reason === 'shorter') {
    const lost = X === undefined ? '' : `; ${cut(Y === undefined ? 0 : Y + 1, X)}`
    return `${who} and found the log shorter than its head: ${named}, but ${ended}${lost}`
  }
  if (reason === 'differs') {
    return `${who} and found the log different from its head: ${named}, but the log's record at that seq has another hash (${ended}): the records from seq ${String(head.seq)} on were replaced, or an older copy of the log was put back`
  }
  const other = found === undefined
    ? 'the log held no record of that chain'
    : `the log continues chain ${String(found.chainId)}, ending at seq ${String(found.seq)} (hash ${short(found.hash)})`
  return `${who} and found another chain than its head names: ${named}, but ${other}: the files holding the head's record were removed or replaced while the writer was stopped`
}
