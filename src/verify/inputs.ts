/**
 * From the PATH arguments to the chains to read: files, directories (every log file
 * in them, grouped into chains and ordered by first seq, FORMAT.md §1 and §7) and
 * `-` for standard input. Head files found in a directory are used automatically.
 *
 * Grouping reads the start of each regular file before the full pass. A pipe or FIFO
 * given as a path (`verify <(cat log)`) can be read only once, so it is never
 * looked into ahead: like standard input, it is a group of its own.
 */
import { createReadStream, lstatSync, readdirSync, statSync, type Stats } from 'node:fs'
import { join, resolve } from 'node:path'
import { AuditChainError } from '../errors.js'
import { CONTROL_EVENTS } from '../format/body.js'
import { parseRecordLine } from '../format/record.js'
import { forEachLine, READ_CHUNK_BYTES } from './lines.js'

/** The name standard input has in reports. */
export const STDIN_NAME = '<stdin>'

export type InputSource =
  | { kind: 'file', path: string, size: number }
  /** A path that is not a regular file (a pipe, a FIFO, a device): read once, as a stream. */
  | { kind: 'stream', path: string, size: 0 }
  | { kind: 'stdin', path: typeof STDIN_NAME, size: 0 }

/** The files of one chain, in reading order. */
export interface InputGroup {
  /** From the first control record that names it; `null` when none does (or for stdin, until read). */
  chainId: string | null
  sources: InputSource[]
  /** Seq of the first record of its first file, when its files were looked into ahead. */
  firstSeq?: number
}

export interface Inputs {
  groups: InputGroup[]
  /** `*.head.json` files found in the directories given. */
  heads: string[]
  /** Bytes in all files (standard input not counted: its size is unknown). */
  totalBytes: number
  /**
   * Subdirectories not read (not recursive) that hold log files, of the directories
   * given that held none themselves: for the message when nothing was found.
   */
  unread: UnreadDirectory[]
}

export interface UnreadDirectory {
  path: string
  /** Log files directly inside it. */
  logFiles: number
}

const CHAIN_ID = /^[0-9a-f]{32}$/

/** Names in a directory that are not log files (FORMAT.md §1). */
function isLogFileName (name: string): boolean {
  return !name.startsWith('.') && !name.endsWith('.head.json') && !name.endsWith('.lock') && !name.endsWith('.tmp')
}

/** stat(2), or PAC_INPUT naming the path: a verifier must not quietly check less than asked. */
export function statOrThrow (path: string): Stats {
  try {
    return statSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new AuditChainError('PAC_INPUT', code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read (${code ?? 'error'})`)
  }
}

interface FileStart {
  chainId: string | null
  /** Seq of the file's first record; Infinity when it has none. */
  firstSeq: number
}

/**
 * Read a file up to its first control record naming a chain (normally line 1):
 * that chain id, and the seq of the file's first record. Signatures are not checked
 * here; the full pass does that.
 */
async function fileStart (path: string, maxLineBytes: number): Promise<FileStart> {
  const start: FileStart = { chainId: null, firstSeq: Infinity }
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES })
  try {
    await forEachLine(stream, maxLineBytes, (line) => {
      if (line.bytes === undefined) return true
      const parsed = parseRecordLine(line.bytes)
      if (!parsed.ok) return true
      if (start.firstSeq === Infinity) start.firstSeq = parsed.member.seq
      const { event, chainId } = parsed.fields
      if (typeof event === 'string' && CONTROL_EVENTS.has(event) && typeof chainId === 'string' && CHAIN_ID.test(chainId)) {
        start.chainId = chainId
        return false
      }
      return true
    })
  } catch (err) {
    throw new AuditChainError('PAC_INPUT', `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  } finally {
    stream.destroy()
  }
  return start
}

// Digits compare as numbers, so per-process slots list as audit.2.log before audit.10.log.
const byName = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' }).compare

function namesIn (path: string): string[] {
  try {
    return readdirSync(path).sort(byName)
  } catch (err) {
    throw new AuditChainError('PAC_INPUT', `directory ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/**
 * Add the log files and head files of directory `path`; with `recursive`, of its
 * subdirectories too, at any depth. A symbolic link to a directory is not followed
 * (a link to a parent would loop). Returns the subdirectories it did not read.
 */
function readDirectory (path: string, recursive: boolean, addFile: (path: string, size: number) => void, heads: string[]): string[] {
  const skipped: string[] = []
  for (const name of namesIn(path)) {
    if (name.startsWith('.')) continue
    const full = join(path, name)
    const entry = statOrThrow(full)
    if (entry.isDirectory()) {
      if (lstatSync(full).isSymbolicLink()) continue
      if (recursive) readDirectory(full, true, addFile, heads)
      else skipped.push(full)
      continue
    }
    if (!entry.isFile()) continue
    if (name.endsWith('.head.json')) heads.push(full)
    else if (isLogFileName(name)) addFile(full, entry.size)
  }
  return skipped
}

/** Log files directly in `path` (0 when it cannot be read: this only feeds a hint). */
function countLogFiles (path: string): number {
  try {
    return readdirSync(path, { withFileTypes: true }).filter((e) => e.isFile() && isLogFileName(e.name)).length
  } catch {
    return 0
  }
}

/**
 * Expand the PATH arguments. Throws `PAC_INPUT` for a path that does not exist or
 * cannot be read: a verifier must not quietly check less than it was asked to.
 */
export async function expandInputs (paths: string[], maxLineBytes: number, recursive = false): Promise<Inputs> {
  const files: Array<{ path: string, size: number, regular: boolean }> = []
  const heads: string[] = []
  const unread: UnreadDirectory[] = []
  const seen = new Set<string>()
  let stdinAt = -1
  const addFile = (path: string, size: number, regular = true): void => {
    const key = resolve(path)
    if (seen.has(key)) return
    seen.add(key)
    files.push({ path, size, regular })
  }
  for (const path of paths) {
    if (path === '-') {
      if (stdinAt >= 0) throw new AuditChainError('PAC_BAD_OPTION', '"-" (standard input) can be given only once')
      stdinAt = files.length
      continue
    }
    const stats = statOrThrow(path)
    if (!stats.isDirectory()) {
      if (stats.isFile()) addFile(path, stats.size)
      else addFile(path, 0, false)
      continue
    }
    const before = files.length
    const subdirectories = readDirectory(path, recursive, addFile, heads)
    if (files.length === before) unread.push(...subdirectories.map((d) => ({ path: d, logFiles: countLogFiles(d) })).filter((d) => d.logFiles > 0))
  }

  const groups: InputGroup[] = []
  const byChain = new Map<string, { group: InputGroup, starts: Map<InputSource, number> }>()
  let totalBytes = 0
  for (let i = 0; i <= files.length; i++) {
    if (i === stdinAt) groups.push({ chainId: null, sources: [{ kind: 'stdin', path: STDIN_NAME, size: 0 }] })
    if (i === files.length) break
    const { path, size, regular } = files[i]
    if (!regular) {
      groups.push({ chainId: null, sources: [{ kind: 'stream', path, size: 0 }] })
      continue
    }
    totalBytes += size
    const source: InputSource = { kind: 'file', path, size }
    const start = await fileStart(path, maxLineBytes)
    if (start.chainId === null) {
      groups.push({ chainId: null, sources: [source] })
      continue
    }
    let entry = byChain.get(start.chainId)
    if (entry === undefined) {
      entry = { group: { chainId: start.chainId, sources: [] }, starts: new Map() }
      byChain.set(start.chainId, entry)
      groups.push(entry.group)
    }
    entry.group.sources.push(source)
    entry.starts.set(source, start.firstSeq)
  }
  // Files of a chain are read in seq order, not name order (rotation names vary).
  for (const { group, starts } of byChain.values()) {
    group.sources.sort((a, b) => (starts.get(a) ?? Infinity) - (starts.get(b) ?? Infinity))
    group.firstSeq = starts.get(group.sources[0]) ?? Infinity
  }
  return { groups, heads, totalBytes, unread }
}
