/**
 * One pass over readAuditLog that gathers what the report page shows: the verifier's
 * report, counts by event type, level and status, the timeline, and a bounded set of
 * records in full (src/report/keep.ts), spooled to disk (src/report/spool.ts).
 * Memory is bounded by the budget, not the log.
 */
import pino from 'pino'
import { AuditChainError } from '../errors.js'
import { loadVerifyKey } from '../format/keys.js'
import { readAuditLog, type ReadAuditLogOptions } from '../read/read-log.js'
import type { ChainSummary, Finding, OmittedFindings, StateOutcome } from '../verify/report.js'
import { embedJson } from './embed.js'
import { RecordKeeper, type Candidate, type Kept, type KeptReason } from './keep.js'
import { Spool, type Spooled } from './spool.js'
import { OTHER_SERIES, Timeline, type TimelineData } from './timeline.js'

/** Records carried in full by default: some 15 MB of page for records of ~300 bytes. */
export const DEFAULT_MAX_RECORDS = 50_000
/**
 * A record's stored line is embedded up to this many characters; the rest is cut
 * and the page says so. The policy caps code and output far below this; a longer
 * line comes from elsewhere, and `audit-chain show` prints it whole.
 */
export const MAX_RECORD_CHARS = 64 * 1024
/** Distinct event names counted one by one; the rest fall under `(other)`. */
const MAX_EVENT_NAMES = 1000

export interface ReportOptions extends Omit<ReadAuditLogOptions, 'onProgress'> {
  /** At most this many records in full on the page (default {@link DEFAULT_MAX_RECORDS}). */
  maxRecords?: number
}

/** One record on the page; files and chains are indexes into {@link ReportData}. */
export interface PageRecord extends Candidate {
  file: number
  line: number
  seq: number
  chain: number
  time: number | null
  level: number | null
  event: string | null
  msg: string | null
  status: string
  /** The stored line (with its chain member), cut at {@link MAX_RECORD_CHARS}. */
  json: string
  /** The line's full length in bytes when `json` was cut. */
  cutFrom?: number
}

export interface TrustedKey { path: string, kid: string }

/** The kept records as embedded JSON texts, in reading order, from their spool. */
export interface KeptTexts {
  readonly count: number
  texts: () => Iterable<string>
  /** Delete the spool; call it once the page is written. */
  dispose: () => void
}

/** Everything the page is drawn from but the records; embedded in it as JSON, the records in its `kept` list. */
export interface ReportData {
  generatedAt: string
  paths: string[]
  ok: boolean
  records: number
  files: string[]
  chains: ChainSummary[]
  problems: Finding[]
  warnings: Finding[]
  omitted: OmittedFindings
  durationMs: number
  trust: { keys: TrustedKey[], masters: TrustedKey[], certs: string[], heads: string[], requireSeal: boolean, state?: StateOutcome }
  /** The filter given, as the user wrote it (the counts below are of the records it kept). */
  filter: Record<string, unknown>
  /** Records that passed the filter, by event, pino level and status; records without a numeric time. */
  shown: number
  byEvent: Array<{ event: string, count: number }>
  byLevel: Array<{ level: number | null, count: number }>
  byStatus: Array<{ status: string, count: number }>
  untimed: number
  timeline?: TimelineData
  chainIds: Array<string | null>
  keptCount: number
  sampledOut: number
  priorityLeftOut: Partial<Record<KeptReason, number>>
  maxRecords: number
}

function levelOf (value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string') return pino.levels.values[value] ?? null
  return null
}

/**
 * Why a record must be on the page. After a break every record of the chain reads
 * `unlinked`: only the first of such a run is where something happened (a finding);
 * the rest compete with ordinary records, or a broken chain early in a large log would
 * fill the budget and crowd out every alert after it. All of them are still marked.
 */
function reasonOf (event: string | null, level: number | null, status: string, previous: string | undefined): KeptReason {
  if (status === 'invalid' || (status === 'unlinked' && previous !== 'unlinked')) return 'not-intact'
  if (event === 'alert') return 'alert'
  if (level !== null && level >= pino.levels.values.warn) return 'warning'
  return 'sample'
}

/** Count into a map whose keys are log content, with a bound on how many there are. */
function countInto<K> (map: Map<K, number>, key: K, other: K, max: number): void {
  const k = map.has(key) || map.size < max ? key : other
  map.set(k, (map.get(k) ?? 0) + 1)
}

function keyInfo (paths: unknown[] | undefined): TrustedKey[] {
  return (paths ?? []).map((p) => typeof p === 'string' ? { path: p, kid: loadVerifyKey(p).kid } : { path: (p as { source: string }).source, kid: (p as { kid: string }).kid })
}

/** A record as read: its stored line still bytes, decoded only if it is kept. */
type ReadRecord = Omit<PageRecord, 'json' | 'cutFrom'> & { bytes: Buffer }

function pageRecord (r: ReadRecord): PageRecord {
  const { bytes, ...rest } = r
  const line = bytes.toString('utf8')
  if (line.length <= MAX_RECORD_CHARS) return { ...rest, json: line }
  return { ...rest, json: line.slice(0, MAX_RECORD_CHARS), cutFrom: bytes.length }
}

/**
 * Read the logs once (through the verifier) and gather the page's data and records.
 * The caller writes the page (html.ts writeReport) and then calls `records.dispose()`.
 */
export async function collectReport (paths: string[], options: ReportOptions): Promise<{ data: ReportData, records: KeptTexts }> {
  const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS
  if (!(Number.isSafeInteger(maxRecords) && maxRecords >= 1)) throw new AuditChainError('PAC_BAD_OPTION', `maxRecords must be a whole number of records, at least 1 (got ${String(options.maxRecords)})`)
  const spool = new Spool()
  try {
    return await collect(paths, options, maxRecords, spool)
  } catch (err) {
    spool.dispose()
    throw err
  }
}

async function collect (paths: string[], options: ReportOptions, maxRecords: number, spool: Spool): Promise<{ data: ReportData, records: KeptTexts }> {
  const { maxRecords: _max, ...readOptions } = options
  const reader = readAuditLog(paths, readOptions)
  const keeper = new RecordKeeper<ReadRecord, Kept & Spooled>(maxRecords, (r) => ({ n: r.n, reason: r.reason, ...spool.put(embedJson(pageRecord(r))) }))
  const timeline = new Timeline()
  const byEvent = new Map<string, number>()
  const byLevel = new Map<number | null, number>()
  const byStatus = new Map<string, number>()
  const files: string[] = []
  const fileIndex = new Map<string, number>()
  const chainIds: Array<string | null> = []
  let chain = -1
  let lastChainId: string | null | undefined
  let lastFile: string | undefined
  let previousStatus: string | undefined
  let shown = 0
  let untimed = 0
  for await (const e of reader) {
    // A new chain starts with a new chain id, or (before any record named one) a new file.
    if (chain < 0 || e.chainId !== lastChainId || (e.chainId === null && e.file !== lastFile)) {
      if (chain >= 0) keeper.endOfChain()
      previousStatus = undefined
      chainIds.push(e.chainId)
      chain = chainIds.length - 1
      lastChainId = e.chainId
    }
    lastFile = e.file
    let file = fileIndex.get(e.file)
    if (file === undefined) {
      file = files.push(e.file) - 1
      fileIndex.set(e.file, file)
    }
    const event = typeof e.record.event === 'string' ? e.record.event : null
    const level = levelOf(e.record.level)
    const t = e.record.time
    const time = typeof t === 'number' && Number.isFinite(t) ? t : null
    const reason = reasonOf(event, level, e.status, previousStatus)
    previousStatus = e.status
    shown++
    countInto(byEvent, event ?? '(none)', OTHER_SERIES, MAX_EVENT_NAMES)
    countInto(byLevel, level, null, 100)
    byStatus.set(e.status, (byStatus.get(e.status) ?? 0) + 1)
    if (time === null) untimed++
    else timeline.add(time, event ?? '(none)', { alert: event === 'alert', warning: level !== null && level >= pino.levels.values.warn, notIntact: e.status !== 'intact' })
    const record: ReadRecord = {
      n: shown - 1,
      reason,
      file,
      line: e.lineNumber,
      seq: e.seq,
      chain,
      time,
      level,
      event,
      msg: typeof e.record.msg === 'string' ? e.record.msg : null,
      status: e.status,
      bytes: e.bytes
    }
    keeper.add(record)
  }
  const report = reader.report
  if (report === undefined) throw new AuditChainError('PAC_VERIFY_FAILED', 'the log was read but the verifier gave no report')
  const kept = keeper.finish()
  const records: KeptTexts = {
    count: kept.records.length,
    texts: function * () { for (const r of kept.records) yield spool.get(r) },
    dispose: () => { spool.dispose() }
  }
  const data: ReportData = {
    generatedAt: new Date().toISOString(),
    paths,
    ok: report.ok,
    records: report.records,
    // Every file the verifier read, then (rarely) any a record named that it did not list.
    files: [...files, ...report.files.filter((f) => !fileIndex.has(f))],
    chains: report.chains,
    problems: report.problems,
    warnings: report.warnings,
    omitted: report.omitted,
    durationMs: report.durationMs,
    trust: {
      keys: keyInfo(options.keys),
      masters: keyInfo(options.masters),
      certs: options.certs ?? [],
      heads: options.heads ?? [],
      requireSeal: options.requireSeal === true,
      ...(report.state !== undefined ? { state: report.state } : {})
    },
    filter: { ...options.filter },
    shown,
    byEvent: [...byEvent].map(([event, count]) => ({ event, count })).sort((a, b) => b.count - a.count),
    byLevel: [...byLevel].map(([level, count]) => ({ level, count })).sort((a, b) => (a.level ?? -1) - (b.level ?? -1)),
    byStatus: [...byStatus].map(([status, count]) => ({ status, count })),
    untimed,
    ...(timeline.data() !== undefined ? { timeline: timeline.data() } : {}),
    chainIds,
    keptCount: kept.records.length,
    sampledOut: kept.sampledOut,
    priorityLeftOut: kept.priorityLeftOut,
    maxRecords
  }
  return { data, records }
}
