/**
 * `pino-audit-chain/pretty`: one pino-pretty option set for audit logs, used by
 * `audit-chain show` and offered to users three ways (docs/pretty.md): as options for
 * pino-pretty's API, as a pino-pretty config file (config/pino-pretty.cjs, for the
 * `pino-pretty` CLI), and as a transport target (this module's default export).
 *
 * What it changes from pino-pretty's defaults: the six-line `chain` member of every
 * record is not printed (the verifier is what reads it), every record's message starts
 * with its seq (`#42`, as the verifier's findings name records), the writer's own
 * records read as one line (`#0 chain.open: audit chain opened (chain 5f0c6a1e, key
 * 21fe31df)`) instead of a block of ids, and times print with their date and zone.
 */
import pinoPretty, { type PrettyOptions } from 'pino-pretty'
import { CONTROL_EVENTS } from './format/body.js'

type Log = Record<string, unknown>

/**
 * True for the writer's own records (FORMAT.md §5): chain.open, chain.close, file.open, …
 * By the event alone: pino-pretty's `ignore` has taken the chain member away by the time
 * members are printed, and the writer wraps any app line that claims one of these events.
 */
export function isControlRecord (log: Log): boolean {
  return typeof log.event === 'string' && CONTROL_EVENTS.has(log.event)
}

function isObject (value: unknown): value is Log {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

// Ids are 16 or 32 hex characters; 8 tell chains and keys apart on screen, and the
// full ids stay in the stored line (`audit-chain show --format json`).
const short = (id: unknown): string => typeof id === 'string' ? id.slice(0, 8) : String(id)
const seqOf = (log: Log): number | undefined => isObject(log.chain) && typeof log.chain.seq === 'number' ? log.chain.seq : undefined

/** The one-line summary of a control record's own fields: what its hidden members said. */
function controlDetail (log: Log): string {
  switch (log.event) {
    case 'chain.open':
      return `chain ${short(log.chainId)}, key ${short(log.kid)}${log.pipeline === true ? ', pipeline' : ''}`
    case 'chain.resume':
      return `chain ${short(log.chainId)}, after #${isObject(log.after) ? String(log.after.seq) : '?'}, key ${short(log.kid)}`
    case 'chain.close':
      return `${String(log.records)} records`
    case 'file.open':
      return `${String(log.file)}${typeof log.previousFile === 'string' ? ` after ${log.previousFile}` : ''}, ${String(log.reason)}`
    case 'retention.prune': {
      const files = Array.isArray(log.files) ? log.files.filter(isObject) : []
      return files.length > 0 ? files.map((f) => `${String(f.file)} #${String(f.firstSeq)}–#${String(f.lastSeq)}`).join(', ') : 'nothing deleted'
    }
    case 'epoch.close':
      return `epoch ${String(log.epoch)}, key ${short(log.kid)}, ${String(log.records)} records`
    default:
      return ''
  }
}

/**
 * pino-pretty's `messageFormat`: `#SEQ MSG` for the app's records; `#SEQ EVENT: MSG
 * (DETAIL)` for the writer's own. A line without a chain member prints as pino-pretty
 * would print it.
 */
export function messageFormat (log: Log, messageKey: string): string {
  const seq = seqOf(log)
  const msg = log[messageKey]
  const text = typeof msg === 'string' || typeof msg === 'number' || typeof msg === 'boolean' ? String(msg) : ''
  if (seq === undefined) return text
  if (isControlRecord(log)) {
    const detail = controlDetail(log)
    return `#${seq} ${String(log.event)}: ${text}${detail !== '' ? ` (${detail})` : ''}`
  }
  if (typeof log.wrapped === 'string') return `#${seq} [wrapped: ${log.wrapped}]${text !== '' ? ` ${text}` : ''}`
  return text !== '' ? `#${seq} ${text}` : `#${seq}`
}

// Members of control records that the summary line already says. Members that call for
// attention — a `truncated` head check, a non-null `torn` line, `failed` deletions — are
// still printed in full.
const SUMMARISED = ['event', 'chainId', 'kid', 'after', 'pipeline', 'records', 'file', 'previousFile', 'reason', 'files', 'epoch', 'lastSeq'] as const
const SUMMARISED_WHEN_EMPTY = ['torn', 'failed'] as const

// pino-pretty prints a member a custom prettifier returns undefined for as nothing at
// all (its types say string; lib/utils/prettify-object.js skips undefined); any other
// member is printed as pino-pretty itself would (JSON, indented by 2).
type Prettifier = (value: unknown, key: string, log: Log) => string | undefined
const asPinoPretty = (value: unknown): string => JSON.stringify(value, null, 2)
const hiddenInControl: Prettifier = (value, _key, log) => isControlRecord(log) ? undefined : asPinoPretty(value)
const hiddenInControlWhenEmpty: Prettifier = (value, _key, log) =>
  isControlRecord(log) && (value === null || (Array.isArray(value) && value.length === 0)) ? undefined : asPinoPretty(value)

const customPrettifiers: Record<string, Prettifier> = {
  // Also set here, not only in `ignore`: a user's own `--ignore pid,hostname` replaces
  // the config's `ignore` list, and the chain block would be back.
  chain: (value, _key, log) => isObject(value) && seqOf(log) !== undefined ? undefined : asPinoPretty(value)
}
for (const key of SUMMARISED) customPrettifiers[key] = hiddenInControl
for (const key of SUMMARISED_WHEN_EMPTY) customPrettifiers[key] = hiddenInControlWhenEmpty

/**
 * The option set: spread it into pino-pretty's options (`pinoPretty({ ...prettyOptions,
 * colorize: true })`, `prettyFactory(...)`), or point the `pino-pretty` CLI at
 * `config/pino-pretty.cjs`, which exports it. Functions, so not serialisable: for
 * `pino.transport` use this module as the target instead.
 */
export const prettyOptions = {
  ignore: 'chain',
  // Audit logs span days and hosts: the date and zone belong in every line.
  translateTime: 'SYS:standard',
  messageFormat,
  customPrettifiers: customPrettifiers as unknown as NonNullable<PrettyOptions['customPrettifiers']>
} satisfies PrettyOptions

/**
 * A pino transport: pino-pretty with {@link prettyOptions}, for
 * `pino.transport({ target: 'pino-audit-chain/pretty', options })`. `options` are
 * pino-pretty's own (`destination`, `colorize`, …) and win over the set.
 */
export default function auditPrettyTransport (options: PrettyOptions = {}): ReturnType<typeof pinoPretty> {
  return pinoPretty({ ...prettyOptions, ...options })
}
