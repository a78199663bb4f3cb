/**
 * The verifier (FORMAT.md §4 and §7): reads log files, directories or standard
 * input in constant memory and reports every deviation from an intact, signed chain.
 */
import { availableParallelism } from 'node:os'
import { AuditChainError } from '../errors.js'
import { loadVerifyKey, type VerifyKey } from '../format/keys.js'
import { loadCerts } from './certs.js'
import { HeadBook } from './heads.js'
import { expandInputs, type InputGroup, type UnreadDirectory } from './inputs.js'
import type { ChainRecord, RecordStatus } from './chain-state.js'
import { readExcerpt } from './excerpt.js'
import { DEFAULT_MAX_LINE_BYTES } from './lines.js'
import { readGroup } from './read-group.js'
import { DEFAULT_REORDER_WINDOW, MAX_REORDER_WINDOW } from './demux.js'
import { VerifyState } from './state.js'
import { createSigPool, type SigPool } from './sig-pool.js'
import { FindingLog } from './findings.js'
import { reportHeader, type ChainSummary, type Emit, type FindingKind, type VerifyReport } from './report.js'

export type { ChainSummary, EpochSpan, Finding, FindingKind, OmittedFindings, Severity, StateOutcome, VerifyReport } from './report.js'
export { formatReport, formatFinding, formatVerdict, formatChain, formatState, printable, REPORT_SCHEMA_VERSION } from './report.js'
export { DEFAULT_MAX_LINE_BYTES } from './lines.js'
export { MAX_FINDINGS_PER_KIND } from './findings.js'
export { DEFAULT_REORDER_WINDOW, MAX_REORDER_WINDOW } from './demux.js'

/** Options of {@link verify}. */
export interface VerifyOptions {
  /**
   * The public keys records may be signed with: key objects, or paths to PEM files. At
   * least one, unless `masters` and `certs` give epoch keys (both, or neither).
   */
  keys?: VerifyKey[] | string[]
  /**
   * Epoch keys (FORMAT.md §10): the master public keys (key objects, or paths to PEM
   * files) that signed the certificates in the files `certs`. Each certificate they
   * vouch for adds its key to the keyring, and the chain must keep to its window and order.
   */
  masters?: VerifyKey[] | string[]
  certs?: string[]
  /** Head files to check the log against (besides the `*.head.json` found in directories). */
  heads?: string[]
  /** Report a chain without a seal whose end no head covers as a problem, not a warning. */
  requireSeal?: boolean
  /**
   * A state file (src/verify/state.ts): each chain's last record a previous run verified
   * must still be in the log, unchanged (else a `rollback` problem); afterwards the
   * file is updated for the chains read without problems. Created when missing.
   */
  state?: string
  /** The stream read for the path `-` (default `process.stdin`). */
  stdin?: NodeJS.ReadableStream
  /**
   * Called as input is read: bytes read so far (standard input included), the size of
   * the files (`bytesTotal`: 0 when reading only standard input, whose size is
   * unknown), and the records read so far.
   */
  onProgress?: (bytesDone: number, bytesTotal: number, recordsDone: number) => void
  /**
   * Read the subdirectories of the directories given too, at any depth (symbolic links
   * to directories are not followed). Default false: only the files directly inside.
   */
  recursive?: boolean
  /**
   * Lines longer than this many bytes (without the `\n`) are skipped and reported as
   * `line-too-long`. Default {@link DEFAULT_MAX_LINE_BYTES}, 64 MiB: the writer never
   * signs a longer line (it wraps one, FORMAT.md §3.1). The verifier holds one line
   * at a time, so this bounds its memory.
   */
  maxLineBytes?: number
  /**
   * Threads that check the Ed25519 signatures, 1–64 (default `min(os.availableParallelism(), 4)`):
   * this one, which checks a share whenever the others are busy, and `threads - 1` worker
   * threads, started once there are 128 signatures to check. `1` checks them all inline,
   * with no worker thread. The report is the same for any value.
   */
  threads?: number
  /**
   * Check an excerpt (FORMAT.md §11): each line alone — its hash, its signature, a
   * trusted key inside its epoch window — without links, order or completeness, so a
   * selection of records (`audit-chain show --format json`) can be checked on its own.
   * Heads, state and `requireSeal` do not apply to an excerpt and are refused with it.
   */
  excerpt?: boolean
  /**
   * A merged stream (FORMAT.md §7.1: one input holding interleaved pipeline chains, as
   * a collector delivers them): how many records late a record may arrive and still be
   * put back in its place, and how many records after its original a byte-identical
   * copy is a `redelivered` warning rather than a `duplicate`. 0–1,000,000, default
   * {@link DEFAULT_REORDER_WINDOW} (32). Memory grows with chains × window.
   */
  reorderWindow?: number
}

/** How readAuditLog reads records back through the verifier (internal). */
export interface ReadBack {
  onRecord: (r: ChainRecord, status: RecordStatus, chainId: string | null) => void
  pace: () => Promise<void> | undefined
}

/** Default signature-checking threads: one per core, up to 4. */
export function defaultVerifyThreads (): number {
  return Math.min(availableParallelism(), MAX_DEFAULT_THREADS)
}

// Beyond 4 threads the reading thread (parse + SHA-256, ~12 µs a record) becomes the limit.
const MAX_DEFAULT_THREADS = 4
const MAX_THREADS = 64

const WARNING_KINDS: ReadonlySet<FindingKind> = new Set(['torn', 'unsealed', 'redelivered'])

/** Load keys given as objects or PEM paths; a key given twice counts once. */
function loadKeys (keys: VerifyKey[] | string[]): Map<string, VerifyKey> {
  const ring = new Map<string, VerifyKey>()
  for (const key of keys) {
    const loaded = typeof key === 'string' ? loadVerifyKey(key) : key
    ring.set(loaded.kid, loaded)
  }
  return ring
}

function listOption<T> (value: T[] | undefined, name: string): T[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new AuditChainError('PAC_BAD_OPTION', `${name} must be a list, got ${typeof value}`)
  return value
}

interface KeyOptions {
  keys: Map<string, VerifyKey>
  masters: Map<string, VerifyKey>
  certs: string[]
}

/**
 * The keys given directly and the master keys, loaded, and the certificate files:
 * certificates are only trusted through master keys, and master keys vouch only
 * through certificates, so one without the other is a mistake, not an empty keyring.
 */
function keyOptions (options: VerifyOptions): KeyOptions {
  const keys = listOption<VerifyKey | string>(options.keys, 'keys')
  const masters = listOption<VerifyKey | string>(options.masters, 'masters')
  const certs = listOption<string>(options.certs, 'certs')
  if (certs.length > 0 && masters.length === 0) {
    throw new AuditChainError('PAC_BAD_OPTION', 'certificate files (option certs / --certs) need the master public key that signed them (option masters / --master): a certificate is only trusted through a master key you were given')
  }
  if (masters.length > 0 && certs.length === 0) {
    throw new AuditChainError('PAC_BAD_OPTION', 'master keys (option masters / --master) vouch for epoch keys only through their certificate files (option certs / --certs, written by "audit-chain epochs"); give those too')
  }
  if (keys.length === 0 && certs.length === 0) {
    throw new AuditChainError('PAC_BAD_OPTION', 'verify needs at least one public key (option keys / --key), or master keys and certificate files (masters and certs / --master and --certs): records are only trusted when checked against a key you were given')
  }
  return { keys: loadKeys(keys as VerifyKey[] | string[]), masters: loadKeys(masters as VerifyKey[] | string[]), certs }
}

/** Turns the readers' deltas into the running totals `onProgress` is told. */
function progressCounter (bytesTotal: number, onProgress: VerifyOptions['onProgress']): (bytes: number, records: number) => void {
  let bytes = 0
  let records = 0
  return (b, r) => {
    bytes += b
    records += r
    onProgress?.(bytes, bytesTotal, records)
  }
}

/**
 * Nothing was found to read, but a directory given has subdirectories holding log files
 * (createAuditLogger writes to logs/audit, and `verify logs` reads only logs itself):
 * say where they are rather than only that there is nothing.
 */
function subdirectoryHint (unread: UnreadDirectory[]): string {
  if (unread.length === 0) return ''
  const shown = unread.slice(0, 3).map((d) => `${d.path} has ${d.logFiles} log file${d.logFiles === 1 ? '' : 's'}`).join(', ')
  const more = unread.length > 3 ? ` and ${unread.length - 3} more subdirectories` : ''
  return `; ${shown}${more}: give ${unread.length === 1 ? 'that directory' : 'those directories'}, or add --recursive (option recursive) to read subdirectories`
}

/**
 * Where a chain read from past seq 0 may start for readAuditLog: the retention.prune
 * record that explains its start comes after the records it vouches for, so a first,
 * silent pass of the same checks finds it before any record is handed out. Files only
 * (a pipe is read once): a pruned chain read from a pipe comes back `unlinked`.
 */
async function prunedStart (group: InputGroup, keyring: ReadonlyMap<string, VerifyKey>, maxLineBytes: number, reorderWindow: number, pool: SigPool | undefined): Promise<number | undefined> {
  if (group.firstSeq === undefined || group.firstSeq === 0 || group.firstSeq === Infinity) return undefined
  if (group.sources.some((s) => s.kind !== 'file')) return undefined
  const quiet = (): void => {}
  const first = await readGroup(group, { keyring, heads: HeadBook.load([], keyring, quiet), emit: quiet, maxLineBytes, reorderWindow, requireSeal: false, onRead: quiet, pool })
  return first.chains[0]?.prunedBefore
}

/**
 * Verify the audit logs at `paths` (files, directories, or `-` for `options.stdin`).
 * Resolves with the report; rejects with an {@link AuditChainError} only when it
 * cannot run at all (no key, an unreadable key or certificate file, a path that does
 * not exist).
 *
 * @example
 * const report = await verify(['/var/log/app'], { keys: ['/etc/audit/audit-ed25519.pub'] })
 * if (!report.ok) for (const p of report.problems) console.error(p.message)
 */
export async function verify (paths: string[], options: VerifyOptions): Promise<VerifyReport> {
  return await runVerify(paths, options)
}

/** {@link verify}, telling `readBack` (when given) each record with its status as it is placed. */
export async function runVerify (paths: string[], options: VerifyOptions, readBack?: ReadBack): Promise<VerifyReport> {
  const started = performance.now()
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new AuditChainError('PAC_BAD_OPTION', 'verify needs at least one path (a log file, a directory, or - for standard input)')
  }
  const given = keyOptions(options)
  if (options.excerpt !== undefined && typeof options.excerpt !== 'boolean') throw new AuditChainError('PAC_BAD_OPTION', `excerpt must be true or false, got ${typeof options.excerpt}`)
  const requireSeal = options.requireSeal === true
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
  if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 1) {
    throw new AuditChainError('PAC_BAD_OPTION', `maxLineBytes must be a positive whole number of bytes, got ${String(maxLineBytes)}`)
  }
  if (options.recursive !== undefined && typeof options.recursive !== 'boolean') throw new AuditChainError('PAC_BAD_OPTION', `recursive must be true or false, got ${typeof options.recursive}`)
  const recursive = options.recursive === true
  const threads = options.threads ?? defaultVerifyThreads()
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new AuditChainError('PAC_BAD_OPTION', `threads must be a whole number from 1 to ${MAX_THREADS}, got ${String(threads)}`)
  }

  const reorderWindow = options.reorderWindow ?? DEFAULT_REORDER_WINDOW
  if (!Number.isSafeInteger(reorderWindow) || reorderWindow < 0 || reorderWindow > MAX_REORDER_WINDOW) {
    throw new AuditChainError('PAC_BAD_OPTION', `reorderWindow must be a whole number of records from 0 to ${MAX_REORDER_WINDOW}, got ${String(reorderWindow)}`)
  }

  const findings = new FindingLog()
  const emit: Emit = (f) => {
    const warning = WARNING_KINDS.has(f.kind) && !(f.kind === 'unsealed' && requireSeal)
    findings.add(f, warning ? 'warning' : 'problem')
  }

  // Epoch keys join the keyring for records and heads alike, each with its certificate.
  const ring = given.keys
  for (const key of loadCerts(given.certs, given.masters, emit)) ring.set(key.kid, key)

  if (options.excerpt === true) {
    if (options.state !== undefined || (options.heads ?? []).length > 0 || requireSeal) {
      throw new AuditChainError('PAC_BAD_OPTION', 'an excerpt (option excerpt / --excerpt) is checked line by line, without links or completeness: heads, state and requireSeal (--head, --state, --require-seal) do not apply to it; leave them out, or verify the whole log instead')
    }
    const inputs = await expandInputs(paths, maxLineBytes, recursive)
    const result = await readExcerpt(inputs.groups, { keyring: ring, emit, maxLineBytes, stdin: options.stdin, onRead: progressCounter(inputs.totalBytes, options.onProgress) })
    if (result.files.length === 0) emit({ kind: 'empty', file: paths.join(' '), message: `no file was found in the paths given: there is nothing to verify${subdirectoryHint(inputs.unread)}` })
    const { problems, warnings, omitted } = findings.result()
    return { ...reportHeader(), ok: problems.length === 0, problems, warnings, omitted, chains: [], records: result.records, files: result.files, durationMs: Math.round(performance.now() - started), excerpt: { authentic: result.authentic } }
  }

  const state = options.state === undefined ? undefined : VerifyState.load(options.state)
  const inputs = await expandInputs(paths, maxLineBytes, recursive)
  const headPaths = [...new Set([...(options.heads ?? []), ...inputs.heads])]
  const heads = HeadBook.load(headPaths, ring, emit)
  state?.watch(heads)

  const onRead = progressCounter(inputs.totalBytes, options.onProgress)
  const chains: ChainSummary[] = []
  const files: string[] = []
  let records = 0
  // This thread checks signatures too whenever the pool is saturated (ordered-check.ts), so
  // `threads` counts it: threads - 1 more in the pool. Measured on 2 cores, 1 pool thread + this
  // one verify as fast as 2 pool threads + this one (which then only waits), with one thread's
  // memory less (bench/README.md).
  const pool: SigPool | undefined = threads > 1 && inputs.groups.length > 0 ? createSigPool(ring, threads - 1) : undefined
  try {
    for (const group of inputs.groups) {
      const trustedStart = readBack === undefined ? undefined : await prunedStart(group, ring, maxLineBytes, reorderWindow, pool)
      const reading = readBack === undefined ? undefined : { ...readBack, ...(trustedStart !== undefined ? { trustedStart } : {}) }
      const result = await readGroup(group, { keyring: ring, heads, emit, maxLineBytes, reorderWindow, requireSeal, stdin: options.stdin, onRead, pool, ...(reading !== undefined ? { records: reading } : {}) })
      chains.push(...result.chains)
      files.push(...result.files)
      records += result.records
    }
  } finally {
    await pool?.close()
  }
  heads.unmatched(emit)
  state?.check(chains, emit)
  if (files.length === 0) {
    emit({ kind: 'empty', file: paths.join(' '), message: `no log file was found in the paths given: there is nothing to verify${subdirectoryHint(inputs.unread)}` })
  }
  const stateOutcome = state?.save(chains, findings.problemsByFile())
  const { problems, warnings, omitted } = findings.result()

  // The first finding of each kind is always kept, so no kept problem means none at all.
  return { ...reportHeader(), ok: problems.length === 0, problems, warnings, omitted, chains, records, files, durationMs: Math.round(performance.now() - started), ...(stateOutcome !== undefined ? { state: stateOutcome } : {}) }
}
