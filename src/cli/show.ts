/**
 * `audit-chain show`: the records of audit logs, filtered, each vouched for by the
 * verifier (readAuditLog). Only intact records are printed unless asked; the
 * findings and the verdict go to standard error, the exit status is verify's.
 */
import { once } from 'node:events'
import { readAuditLog, type AuditEntry } from '../read/read-log.js'
import { fieldAt, type AuditFilter } from '../read/filter.js'
import { formatReport } from '../verify/index.js'
import { UsageError } from './usage-error.js'
import { reorderWindowOf, threadCount } from './verify.js'

/** The options of `show` as the command line gives them (main.ts declares them). */
export interface ShowCliOptions {
  key?: string[]
  master?: string[]
  certs?: string[]
  head?: string[]
  threads?: string
  reorderWindow?: string
  recursive?: boolean
  event?: string[]
  since?: string
  until?: string
  level?: string
  where?: string[]
  all?: boolean
  includeUnverified?: boolean
  format?: string
  fields?: string
}

const FORMATS = ['pretty', 'json', 'csv'] as const
type Format = typeof FORMATS[number]
const DEFAULT_CSV_FIELDS = ['time', 'level', 'event', 'msg']

/** --where FIELD=VALUE, split at the first `=`. */
function whereOf (items: string[]): Record<string, string> {
  const where: Record<string, string> = {}
  for (const item of items) {
    const at = item.indexOf('=')
    if (at <= 0) throw new UsageError(`--where needs FIELD=VALUE, such as sessionId=s-42 or result.exitCode=0 (got "${item}")`)
    where[item.slice(0, at)] = item.slice(at + 1)
  }
  return where
}

/** Write to `out`, waiting when it is full: a 1 GB log must not pile up in memory. */
async function write (out: NodeJS.WritableStream, chunk: string | Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain')
}

type Printer = { print: (e: AuditEntry) => Promise<void>, end: () => Promise<void> }

// Lines are gathered into buffers of this size: a Buffer.concat of each line and its
// newline was a copy of the whole log in short-lived buffers, and one write per record.
const JSON_CHUNK_BYTES = 64 * 1024
const NEWLINE = 0x0a

function jsonPrinter (out: NodeJS.WritableStream): Printer {
  let chunk = Buffer.allocUnsafeSlow(JSON_CHUNK_BYTES)
  let used = 0
  let flushScheduled = false
  /** Hand what was gathered to `out` (a fresh buffer then: `out` may still hold this one). */
  const take = (): Buffer | undefined => {
    if (used === 0) return undefined
    const full = chunk.subarray(0, used)
    chunk = Buffer.allocUnsafeSlow(JSON_CHUNK_BYTES)
    used = 0
    return full
  }
  // Once per turn of the event loop too, so a record never waits for the next 64 KiB of
  // output (a filter that selects one record in a thousand prints as it goes).
  const flushLater = (): void => {
    flushScheduled = false
    const full = take()
    if (full !== undefined) out.write(full)
  }
  return {
    print: async (e) => {
      const length = e.bytes.length + 1
      if (used + length > JSON_CHUNK_BYTES) {
        const full = take()
        if (full !== undefined) await write(out, full)
      }
      if (length > JSON_CHUNK_BYTES) {
        await write(out, Buffer.concat([e.bytes, Buffer.from([NEWLINE])]))
        return
      }
      e.bytes.copy(chunk, used)
      chunk[used + length - 1] = NEWLINE
      used += length
      if (!flushScheduled) {
        flushScheduled = true
        setImmediate(flushLater)
      }
    },
    end: async () => {
      const full = take()
      if (full !== undefined) await write(out, full)
    }
  }
}

// pino-pretty and csv-stringify are loaded only for their format: every other command
// (verify above all) would otherwise carry their module graphs in memory for nothing.
async function prettyPrinter (out: CommandIo['stdout']): Promise<Printer> {
  const { prettyFactory } = await import('pino-pretty')
  // The same option set users get from pino-audit-chain/pretty (docs/pretty.md).
  const { prettyOptions } = await import('../pretty.js')
  const colorize = out.isTTY === true
  const pretty = prettyFactory({ ...prettyOptions, colorize })
  const mark = (status: string): string => colorize ? `\u001b[7m[${status.toUpperCase()}]\u001b[27m ` : `[${status.toUpperCase()}] `
  return {
    // The stored line, chain member and all, as the pino-pretty CLI would read it: the
    // option set prints the record's seq from it and hides the rest.
    print: async (e) => { await write(out, (e.status === 'intact' ? '' : mark(e.status)) + pretty(e.line)) },
    end: async () => {}
  }
}

async function csvPrinter (out: NodeJS.WritableStream, fields: string[], withStatus: boolean): Promise<Printer> {
  const { stringify } = await import('csv-stringify')
  const columns = withStatus ? ['status', ...fields] : fields
  const csv = stringify({ header: true, columns })
  csv.pipe(out)
  const cell = (v: unknown): unknown => v !== null && typeof v === 'object' ? JSON.stringify(v) : v
  return {
    print: async (e) => {
      const row = fields.map((f) => cell(fieldAt(e.record, f)))
      if (!csv.write(withStatus ? [e.status, ...row] : row)) await once(csv, 'drain')
    },
    end: async () => {
      csv.end()
      await once(csv, 'end')
    }
  }
}

/** The trust options and filter of a command that reads records back (show, report). */
export type ReadBackCliOptions = Omit<ShowCliOptions, 'includeUnverified' | 'format' | 'fields'>

/**
 * Checks the paths and trust options of `command` and builds its filter: what show and
 * report share, so that they accept and refuse the same arguments.
 */
export function readBackOptions (command: string, paths: string[], options: ReadBackCliOptions): { keys: string[], masters: string[], certs: string[], heads: string[], threads?: number, reorderWindow?: number, recursive?: boolean, filter: AuditFilter } {
  const keys = options.key ?? []
  const masters = options.master ?? []
  const certs = options.certs ?? []
  if (paths.length === 0) throw new UsageError(`${command} needs at least one PATH (a log file, a directory, or - for standard input)`)
  if ((masters.length > 0) !== (certs.length > 0)) throw new UsageError(`${command} needs --master and --certs together: epoch keys are trusted through certificates signed by a master key`)
  if (keys.length === 0 && certs.length === 0) throw new UsageError(`${command} needs --key PUB (or --master PUB and --certs FILE): records are only vouched for against a key you were given`)
  const threads = options.threads === undefined ? undefined : threadCount(options.threads)
  const reorderWindow = options.reorderWindow === undefined ? undefined : reorderWindowOf(options.reorderWindow)
  const filter: AuditFilter = {
    ...(options.event !== undefined ? { events: options.event } : {}),
    ...(options.since !== undefined ? { since: options.since } : {}),
    ...(options.until !== undefined ? { until: options.until } : {}),
    ...(options.level !== undefined ? { level: options.level } : {}),
    where: whereOf(options.where ?? []),
    control: options.all === true
  }
  return { keys, masters, certs, heads: options.head ?? [], filter, ...(threads !== undefined ? { threads } : {}), ...(reorderWindow !== undefined ? { reorderWindow } : {}), ...(options.recursive === true ? { recursive: true } : {}) }
}

/** Where a command prints: the process's streams, or their descriptors written from a thread (off-thread.ts). */
export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean }
  stderr: NodeJS.WritableStream
}

/** `audit-chain show PATH...`: true when the records read were intact (exit status 0). */
export async function runShow (paths: string[], options: ShowCliOptions, io: CommandIo = process): Promise<boolean> {
  const trust = readBackOptions('show', paths, options)
  const format = (options.format ?? (io.stdout.isTTY === true ? 'pretty' : 'json')) as Format
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')} (got "${String(options.format)}")`)
  if (options.fields !== undefined && format !== 'csv') throw new UsageError('--fields chooses the columns of --format csv; add --format csv')
  const fields = options.fields !== undefined ? options.fields.split(',').map((f) => f.trim()) : DEFAULT_CSV_FIELDS
  if (fields.some((f) => f === '')) throw new UsageError(`--fields needs comma-separated field names such as time,result.exitCode (got "${String(options.fields)}")`)
  const all = options.includeUnverified === true
  const reader = readAuditLog(paths, trust)
  const printer = format === 'json' ? jsonPrinter(io.stdout) : format === 'csv' ? await csvPrinter(io.stdout, fields, all) : await prettyPrinter(io.stdout)
  for await (const entry of reader) {
    if (entry.status === 'intact' || all) await printer.print(entry)
  }
  await printer.end()
  const report = reader.report
  if (report === undefined) return false
  io.stderr.write(formatReport(report))
  return report.ok
}
