/**
 * What `verify` returns, and how it reads to a person.
 */
import { readFileSync } from 'node:fs'

/**
 * The kinds of finding, exactly those of FORMAT.md §7 (plus `line-too-long`, and
 * `rollback`, which only `--state` reports). `truncated`: a restart record in which
 * the writer signed that the log was shorter than its head (FORMAT.md §5.2). `bad-cert`, `out-of-window` and
 * `epoch-order` come only with epoch keys (§10).
 * `torn` is always a warning; `unsealed` is a warning unless a seal is required.
 * `redelivered` (a warning) comes only from a merged stream (§7.1).
 */
export type FindingKind =
  | 'malformed'
  | 'torn'
  | 'modified'
  | 'unknown-key'
  | 'bad-signature'
  | 'broken-link'
  | 'missing'
  | 'reordered'
  | 'duplicate'
  | 'inserted'
  | 'missing-start'
  | 'after-seal'
  | 'count-mismatch'
  | 'empty'
  | 'head-mismatch'
  | 'bad-head'
  | 'unsealed'
  | 'line-too-long'
  | 'bad-cert'
  | 'out-of-window'
  | 'epoch-order'
  | 'rollback'
  | 'truncated'
  | 'redelivered'

export type Severity = 'problem' | 'warning'

/**
 * The version of the report's JSON shape (`schemaVersion`, docs/verify-report.md). 2 added
 * `schemaVersion`, `tool`, and grouped findings (`count`, line and seq ranges); a report
 * without `schemaVersion` is version 1.
 */
export const REPORT_SCHEMA_VERSION = 2

/** One thing the verifier found, located as precisely as it can be. */
export interface Finding {
  kind: FindingKind
  severity: Severity
  /** The log file (as given or found), `<stdin>`, or the head file for head findings. */
  file: string
  /** 1-based line number in `file`, when the finding is about one line (of a group: its first line). */
  line?: number
  /** The record's sequence number, when known (of a group: its first record's). */
  seq?: number
  /** What happened and what it means, as a sentence. */
  message: string
  /**
   * How many lines this finding stands for: 1, or more for a group of consecutive lines
   * of one file with the same kind and the same cause (e.g. records signed by the same
   * unknown key), which is reported once. A finding of any other kind in between ends a group.
   */
  count: number
  /** Of a group (count > 1): its first and last line, and the seqs of its first and last records when they are records. */
  firstLine?: number
  lastLine?: number
  firstSeq?: number
  lastSeq?: number
}

/**
 * A finding as a check reports it, before the run gives it its severity and groups it.
 * `group` opts in to grouping: consecutive lines of one file with the same kind and
 * `cause` become one finding whose message is `${count} ${many}` (`many` is the
 * sentence for several lines, without its count, e.g. `records are signed by key …`).
 */
export interface Found {
  kind: FindingKind
  file: string
  line?: number
  seq?: number
  message: string
  group?: { cause: string, many: string }
}

export type Emit = (f: Found) => void

interface PackageJson { name: string, version: string }

// Two levels below the package root both in src/verify (tests) and dist/verify (installed).
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as PackageJson

/** The members every report starts with: which shape it has, and which program wrote it. */
export function reportHeader (): Pick<VerifyReport, 'schemaVersion' | 'tool'> {
  return { schemaVersion: REPORT_SCHEMA_VERSION, tool: { name: PACKAGE.name, version: PACKAGE.version } }
}

/** One chain as the verifier saw it. */
export interface ChainSummary {
  /** The chain's id from its control records; `null` if no record named it. */
  chainId: string | null
  /** Seq of the chain's first record read, and the highest seq read (-1 when it has no record). */
  firstSeq: number
  lastSeq: number
  /** The hash of the record at `lastSeq` (the chain's last accepted record). */
  lastHash?: string
  /** Record lines read for this chain (including ones that failed their checks). */
  records: number
  /** Its files, in the order they were read (by first seq). */
  files: string[]
  /** True when the chain ends with a valid `chain.close`. */
  sealed: boolean
  /** When the chain starts past seq 0 because retention deleted its oldest files: its first seq (a signed retention.prune record says so). */
  prunedBefore?: number
  /** `time` of the first and last valid records, ISO 8601, when the records carry one. */
  firstTime?: string
  lastTime?: string
  /** Records after the newest head that vouches for them, when the chain is not sealed; else 0. */
  unanchored: number
  /** With epoch keys (FORMAT.md §10): where the chain's epochs end up. */
  epochs?: EpochSpan
}

/**
 * The epochs of the series a chain ends in: from the first of them the chain entered
 * (as read) to its last, and whether that last one was closed.
 */
export interface EpochSpan {
  series: string
  first: number
  last: number
  closed: boolean
}

/** The verdict and everything behind it. */
export interface VerifyReport {
  /** The version of this shape: {@link REPORT_SCHEMA_VERSION}. */
  schemaVersion: number
  /** The program that wrote the report: this package's name and version. */
  tool: { name: string, version: string }
  /** True when there are no problems (warnings do not change the verdict). */
  ok: boolean
  /** The problems found, in order; only the first 1,000 of each kind (the rest are counted in `omitted`). */
  problems: Finding[]
  /** The warnings, likewise. */
  warnings: Finding[]
  /** Findings beyond the first 1,000 of their kind: counted, not listed, so memory stays bounded. */
  omitted: OmittedFindings
  chains: ChainSummary[]
  /** Record lines read in all. */
  records: number
  /** Every log file read, in the order read. */
  files: string[]
  durationMs: number
  /** With the `state` option: the state file and what this run recorded in it. */
  state?: StateOutcome
  /** With the `excerpt` option (FORMAT.md §11): records that passed their own checks. `chains` is then empty. */
  excerpt?: { authentic: number }
}

/**
 * Findings counted but not listed. All counts are 0 (and `byKind` empty) when every
 * finding is listed; problems in all = `problems.length + omitted.problems`.
 */
export interface OmittedFindings {
  problems: number
  warnings: number
  /** Left out, by kind (a kind is a problem or a warning throughout one run). */
  byKind: Partial<Record<FindingKind, number>>
}

/** What a run did to its state file (src/verify/state.ts). */
export interface StateOutcome {
  /** The state file's path, as given. */
  file: string
  /** True when the file did not exist before this run (nothing was checked against it). */
  created: boolean
  /** Chains whose entry now names their last record (seq and hash), verified by this run. */
  recorded: string[]
  /** Chains read with problems: their entry (if any) was left as it was. */
  notRecorded: string[]
}

function plural (n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`
}

// C0/C1 controls, line and paragraph separators, bidi overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/**
 * Text from the log or the directory (a message quoting a bad line, a file name, a
 * chain id) with what a terminal would act on escaped: an ESC sequence in a file
 * name can clear the screen or paint a false verdict line. Every finding then prints
 * as one plain line. JSON output keeps the raw names (JSON escapes controls itself).
 */
export function printable (text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * `file:line seq N  kind — message`, or for a group `file:first–last seqs A–B  kind — N …`
 * (the parts that are unknown are left out).
 */
export function formatFinding (f: Finding): string {
  const file = printable(f.file)
  const lines = f.lastLine !== undefined ? `${f.line ?? '?'}–${f.lastLine}` : f.line
  const where = lines === undefined ? file : `${file}:${lines}`
  const seq = f.lastSeq !== undefined ? ` seqs ${f.seq ?? '?'}–${f.lastSeq}` : f.seq === undefined ? '' : ` seq ${f.seq}`
  return `${where}${seq}  ${f.kind} — ${printable(f.message)}`
}

/** `audit.log`, `a.log and b.log`, or `12 files: a.log … l.log` (first and last, in reading order). */
function fileList (files: string[]): string {
  const names = files.map(printable)
  if (names.length === 0) return 'no file'
  if (names.length === 1) return names[0]
  if (names.length === 2) return `${names[0]} and ${names[1]}`
  return `${names.length} files: ${names[0]} … ${names[names.length - 1]}`
}

export function formatChain (c: ChainSummary): string {
  const id = c.chainId === null ? '(no chain id found)' : printable(c.chainId)
  const pruned = c.prunedBefore !== undefined ? ` (seq 0–${c.prunedBefore - 1} pruned by retention)` : ''
  const seqs = c.firstSeq === c.lastSeq ? `seq ${c.firstSeq}` : `seq ${c.firstSeq}–${c.lastSeq}`
  const range = c.records === 0 ? 'no records' : `${seqs}${pruned}, ${plural(c.records, 'record')}`
  const state = c.sealed ? 'sealed' : c.unanchored > 0 ? `not sealed, ${plural(c.unanchored, 'record')} unanchored` : 'not sealed, anchored by a head file'
  const time = c.firstTime !== undefined && c.lastTime !== undefined ? `, ${c.firstTime} → ${c.lastTime}` : ''
  return `chain ${id}: ${range} in ${fileList(c.files)}, ${state}${time}${c.epochs === undefined ? '' : `, ${formatEpochs(c.epochs)}`}`
}

// One line per chain up to here: 16 per-process chains read as a list; a collector's
// stream of 1,000 chains would bury the verdict, so it is summarised (--json keeps all).
const CHAIN_LINES = 20
const UNSEALED_LISTED = 10

/** One line per chain; beyond CHAIN_LINES chains, counts and the chains not sealed. */
export function formatChains (chains: ChainSummary[]): string[] {
  if (chains.length <= CHAIN_LINES) return chains.map(formatChain)
  const open = chains.filter((c) => !c.sealed)
  const records = chains.reduce((n, c) => n + c.records, 0)
  const out = [`${plural(chains.length, 'chain')}, ${plural(records, 'record')}: ${chains.length - open.length} sealed, ${open.length} not sealed${open.length === 0 ? '' : ':'}`]
  for (const c of open.slice(0, UNSEALED_LISTED)) out.push(`  ${formatChain(c)}`)
  if (open.length > UNSEALED_LISTED) out.push(`  ... and ${open.length - UNSEALED_LISTED} more not sealed`)
  out.push('(each chain is listed with --json)')
  return out
}

/** `epochs 0–3 of series 5f0c6a1e…, epoch 3 open`. */
function formatEpochs (e: EpochSpan): string {
  const which = e.first === e.last ? `epoch ${e.first}` : `epochs ${e.first}–${e.last}`
  return `${which} of series ${e.series.slice(0, 8)}…, epoch ${e.last} ${e.closed ? 'closed' : 'open'}`
}

/** `state FILE: 1 chain recorded, 1 not (problems found)` — what `--state` did. */
export function formatState (s: StateOutcome): string {
  const skipped = s.notRecorded.length === 0 ? '' : `, ${s.notRecorded.length} not (problems found)`
  return `state ${printable(s.file)}${s.created ? ' (created)' : ''}: ${plural(s.recorded.length, 'chain')} recorded${skipped}`
}

/** The one-line verdict, e.g. `INTACT: 10002 records in 1 chain (1 file), 0 problems, 1 warning`. */
export function formatVerdict (r: VerifyReport): string {
  const problems = r.problems.length + r.omitted.problems
  const warnings = r.warnings.length + r.omitted.warnings
  if (r.excerpt !== undefined) {
    const read = r.ok ? `${plural(r.excerpt.authentic, 'record')} authentic` : `PROBLEMS FOUND: ${r.excerpt.authentic} of ${plural(r.records, 'record')} authentic, ${plural(problems, 'problem')}`
    return `${read} (${plural(r.files.length, 'file')}); an excerpt proves nothing about records left out`
  }
  const verdict = r.ok ? 'INTACT' : 'PROBLEMS FOUND'
  return `${verdict}: ${plural(r.records, 'record')} in ${plural(r.chains.length, 'chain')} (${plural(r.files.length, 'file')}), ${plural(problems, 'problem')}, ${plural(warnings, 'warning')}`
}

/** `... and 14999000 more malformed findings (only the first 1000 of each kind are listed)`, for the kinds of `listed`. */
function omittedLines (r: VerifyReport, listed: Finding[]): string[] {
  const out: string[] = []
  for (const [kind, n] of Object.entries(r.omitted.byKind) as Array<[FindingKind, number]>) {
    const shown = listed.filter((f) => f.kind === kind).length
    if (shown > 0) out.push(`... and ${n} more ${kind} ${n === 1 ? 'finding' : 'findings'} (only the first ${shown} are listed)`)
  }
  return out
}

/**
 * The whole human report: problems first, then warnings, each in the order they were
 * found (which is reading order, except gaps and chain-end findings, reported when
 * the chain ends); then one line per chain and the verdict.
 */
export function formatReport (r: VerifyReport, options: { quiet?: boolean } = {}): string {
  const out: string[] = []
  if (options.quiet !== true) {
    for (const f of r.problems) out.push(formatFinding(f))
    out.push(...omittedLines(r, r.problems))
    for (const f of r.warnings) out.push(formatFinding(f))
    out.push(...omittedLines(r, r.warnings))
    if (out.length > 0) out.push('')
    out.push(...formatChains(r.chains))
    if (r.state !== undefined) out.push(formatState(r.state))
  }
  out.push(formatVerdict(r))
  return out.join('\n') + '\n'
}
