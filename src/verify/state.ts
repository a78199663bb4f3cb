/**
 * The verifier's memory between runs (`verify --state FILE`): for each chain, the
 * last record a run found intact. The next run checks that the log still reaches
 * that record with the same hash, as a transparency-log client (Rekor, Certificate
 * Transparency) keeps its last verified checkpoint: a log rolled back past it, or
 * rewritten from before it, is a `rollback` problem. A verifier feature, not part
 * of the format (FORMAT.md §7).
 *
 * The file (docs/verifying.md "Anchoring"):
 *
 *     {"v":1,"chains":{"<chainId>":{"seq":S,"hash":H,"verifiedAt":"<ISO 8601>"}}}
 *
 * written atomically (temporary file, fsync, rename, fsync of the directory), mode
 * 0600: it is the verifier's own trust anchor, nobody else's to read or write.
 */
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { AuditChainError } from '../errors.js'
import { replaceFile } from '../transport/safe-fs.js'
import { pruneConflictMessage, removedByRetention, type HeadBook, type RememberedWatch } from './heads.js'
import type { ChainSummary, Emit, Finding, StateOutcome } from './report.js'

/** Mode of the state file: only the verifier's user reads or replaces it. */
export const STATE_FILE_MODE = 0o600
/** Mode of a state directory the verifier has to create. */
const STATE_DIR_MODE = 0o700

/** One chain's entry: its last record a run verified, and when. */
export interface RememberedChain {
  seq: number
  hash: string
  verifiedAt: string
}

/** The state file's content. */
export interface StateDocument {
  v: 1
  chains: Record<string, RememberedChain>
}

const CHAIN_ID = /^[0-9a-f]{32}$/
const HASH = /^[0-9a-f]{64}$/
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/
const EXPECTED = 'expected {"v":1,"chains":{"<chainId>":{"seq":S,"hash":H,"verifiedAt":ISO}}} as audit-chain verify --state writes it'
const NOT_RESET = 'it is not reset on its own: restore it from a copy, or delete it to start again (the next run then has nothing to check against)'

function invalid (path: string, what: string): AuditChainError {
  return new AuditChainError('PAC_STATE', `state file ${path} ${what}: ${EXPECTED}; ${NOT_RESET}`)
}

function isObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  return typeof value === 'object' ? 'an object' : String(value)
}

function onlyMembers (path: string, where: string, value: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(path, `has an unexpected member ${JSON.stringify(key)} in ${where}`)
  }
}

/** Check the text of a state file; throws `PAC_STATE` naming the file and what was expected. */
export function parseState (text: string, path: string): StateDocument {
  if (text.trim() === '') throw invalid(path, 'is empty')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw invalid(path, `is not JSON (${(err as Error).message})`)
  }
  if (!isObject(value)) throw invalid(path, `holds ${describe(value)}, not an object`)
  if (value.v !== 1) throw invalid(path, `has "v": ${describe(value.v)}, not 1`)
  if (!isObject(value.chains)) throw invalid(path, `has "chains": ${describe(value.chains)}, not an object`)
  onlyMembers(path, 'the top level', value, ['v', 'chains'])
  const chains: Record<string, RememberedChain> = {}
  for (const [chainId, entry] of Object.entries(value.chains)) {
    const where = `chains.${chainId}`
    if (!CHAIN_ID.test(chainId)) throw invalid(path, `names chain ${JSON.stringify(chainId)}, which is not a chain id (32 hex characters)`)
    if (!isObject(entry)) throw invalid(path, `has ${where}: ${describe(entry)}, not an object`)
    onlyMembers(path, where, entry, ['seq', 'hash', 'verifiedAt'])
    const { seq, hash, verifiedAt } = entry
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw invalid(path, `has ${where}.seq: ${describe(seq)}, not a whole number ≥ 0`)
    if (typeof hash !== 'string' || !HASH.test(hash)) throw invalid(path, `has ${where}.hash: ${describe(hash)}, not 64 lowercase hex characters`)
    if (typeof verifiedAt !== 'string' || !ISO_TIME.test(verifiedAt) || Number.isNaN(Date.parse(verifiedAt))) {
      throw invalid(path, `has ${where}.verifiedAt: ${describe(verifiedAt)}, not an ISO 8601 UTC time`)
    }
    chains[chainId] = { seq, hash, verifiedAt }
  }
  return { v: 1, chains }
}

function codeOf (err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message
}

/**
 * Replace `path` atomically: write a temporary file beside it, fsync, rename, then
 * fsync the directory so the rename itself survives a power cut (as head files are
 * written, src/format/head.ts).
 */
function writeAtomically (path: string, text: string): void {
  try {
    replaceFile(path, text, STATE_FILE_MODE, 'state file')
  } catch (err) {
    throw new AuditChainError('PAC_STATE', `state file ${path} cannot be written (${err instanceof AuditChainError ? err.message : codeOf(err)}); it was left as it was`)
  }
}

/** The state of one run: loaded before reading, checked and saved after. */
export class VerifyState {
  private readonly watches = new Map<string, RememberedWatch>()
  private readonly rolledBack = new Set<string>()

  private constructor (
    readonly path: string,
    private readonly doc: StateDocument,
    /** False on a first run: the file did not exist. */
    readonly existed: boolean
  ) {}

  /**
   * Read the state file. A missing file is a first run (nothing to check; the file is
   * created at the end, and its directory now, mode 0700). Anything else that does not
   * read as a state file throws `PAC_STATE`: the verifier cannot run as asked.
   */
  static load (path: string): VerifyState {
    if (typeof path !== 'string' || path.length === 0) {
      throw new AuditChainError('PAC_BAD_OPTION', `state must be the path of a state file, got ${describe(path)}`)
    }
    let text: string | undefined
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new AuditChainError('PAC_STATE', `state file ${path} cannot be read (${codeOf(err)})`)
    }
    const doc = text === undefined ? { v: 1 as const, chains: {} } : parseState(text, path)
    // Find out now, not after a long run, that the file could not be replaced.
    const dir = dirname(path)
    try {
      if (text === undefined) mkdirSync(dir, { recursive: true, mode: STATE_DIR_MODE })
      accessSync(dir, constants.W_OK)
    } catch (err) {
      throw new AuditChainError('PAC_STATE', `state file ${path} cannot be written: its directory ${dir} is not writable (${codeOf(err)})`)
    }
    return new VerifyState(path, doc, text !== undefined)
  }

  /** Before reading: watch each remembered record as a head's record is watched. */
  watch (heads: HeadBook): void {
    for (const [chainId, { seq, hash }] of Object.entries(this.doc.chains)) {
      const w: RememberedWatch = { kind: 'remembered', seq, hash, found: undefined }
      this.watches.set(chainId, w)
      heads.watch(chainId, seq, w)
    }
  }

  /** After reading: a `rollback` problem for each remembered record the log no longer holds as it was. */
  check (chains: ChainSummary[], emit: Emit): void {
    for (const [chainId, w] of this.watches) {
      const { seq, hash, verifiedAt } = this.doc.chains[chainId]
      const read = chains.filter((c) => c.chainId === chainId)
      let message: string | undefined
      if (read.length === 0) {
        message = `chain ${chainId}, verified up to seq ${seq} on ${verifiedAt}, is no longer in the paths given: its log files were removed or emptied (or the wrong paths were given)`
      } else if (w.found === undefined) {
        const lastSeq = Math.max(...read.map((c) => c.lastSeq))
        // Retention deleted it, and a signed retention.prune record says so (FORMAT.md §7);
        // anything else took it: the oldest files deleted by hand are a rollback too.
        if (read.some((c) => removedByRetention(w, seq, c.prunedBefore))) continue
        message = pruneConflictMessage(w, seq) ?? (seq > lastSeq
          ? `the log no longer reaches seq ${seq} of chain ${chainId}, verified on ${verifiedAt}: it now ends at seq ${lastSeq}, so records were removed from its end (rolled back)`
          : `the record at seq ${seq} of chain ${chainId}, verified on ${verifiedAt}, is no longer in the log, and no retention.prune record says retention deleted it: it was removed`)
      } else if (w.found.hash !== hash) {
        message = `the record at seq ${seq} of chain ${chainId} (${w.found.file}:${w.found.line}) has hash ${w.found.hash}, but the one verified on ${verifiedAt} had hash ${hash}: the log's history was replaced from there on (a fork, which only a holder of the signing key can sign)`
      }
      if (message === undefined) continue
      this.rolledBack.add(chainId)
      emit({ kind: 'rollback', file: this.path, seq, message })
    }
  }

  /**
   * Record, for every chain read without a problem, its last record (seq and hash),
   * and write the file. A chain with a problem keeps its entry as it was, so a
   * tampered log cannot move the state; so do remembered chains not read this time.
   * A problem is a chain's when it names one of the chain's files or is a rollback of
   * it; a head problem (`head-mismatch`, `bad-head`) names a head file, not a chain,
   * so it holds every chain back. Warnings (`torn`, `unsealed`) do not: the chain is
   * intact as far as it goes.
   */
  save (chains: ChainSummary[], problems: Finding[]): StateOutcome {
    const verifiedAt = new Date().toISOString()
    const problemFiles = new Set(problems.map((p) => p.file))
    const headTrouble = problems.some((p) => p.kind === 'head-mismatch' || p.kind === 'bad-head')
    const byChain = new Map<string, ChainSummary[]>()
    for (const c of chains) {
      if (c.chainId === null) continue
      byChain.set(c.chainId, [...(byChain.get(c.chainId) ?? []), c])
    }
    const recorded: string[] = []
    const notRecorded: string[] = []
    for (const [chainId, read] of byChain) {
      const clean = !headTrouble && !this.rolledBack.has(chainId) &&
        read.every((c) => c.lastHash !== undefined && c.files.every((f) => !problemFiles.has(f)))
      if (!clean) {
        notRecorded.push(chainId)
        continue
      }
      const last = read.reduce((a, b) => (b.lastSeq > a.lastSeq ? b : a))
      this.doc.chains[chainId] = { seq: last.lastSeq, hash: last.lastHash as string, verifiedAt }
      recorded.push(chainId)
    }
    writeAtomically(this.path, JSON.stringify(this.doc, null, 2) + '\n')
    return { file: this.path, created: !this.existed, recorded, notRecorded }
  }
}
