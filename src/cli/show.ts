/**
 * `audit-chain show`: the records of audit logs, filtered, each vouched for by the
 * verifier (readAuditLog). Only intact records are printed unless asked; the
 * findings and the verdict go to standard error, the exit status is verify's.
 */
import { once } from 'node:events'
import type { ParseArgsConfig } from 'node:util'
import { readAuditLog, type AuditEntry } from '../read/read-log.js'
import { fieldAt, type AuditFilter } from '../read/filter.js'
import { formatReport } from '../verify/index.js'
import { UsageError } from './usage-error.js'

export const SHOW_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  key: { type: 'string', short: 'k', multiple: true },
  master: { type: 'string', multiple: true },
  certs: { type: 'string', multiple: true },
  head: { type: 'string', multiple: true },
  threads: { type: 'string' },
  event: { type: 'string', multiple: true },
  since: { type: 'string' },
  until: { type: 'string' },
  level: { type: 'string' },
  where: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  'include-unverified': { type: 'boolean' },
  format: { type: 'string' },
  fields: { type: 'string' }
}

export const SHOW_USAGE = `show     Print the records of audit logs that the verifier vouches for, filtered.
         PATH as for verify. Only intact records are printed (hash, signature, key window
         and every link back to the chain's start check); findings and the verdict go to
         stderr. Exit status as verify: 0 intact, 1 problems found, 2 could not run.
  --key PUB, --master PUB --certs FILE, --head FILE, --threads N   as for verify
  --event TYPE     only records with this event (repeatable)
  --since TIME     only records at or after TIME: ISO 8601, or a duration back from now (2h, 7d)
  --until TIME     only records before TIME (same forms)
  --level LEVEL    only records at this pino level or above (info, warn, 40...)
  --where F=V      only records whose field F (a dotted path: result.exitCode) is V (repeatable)
  --all            control records too (chain.*, file.open, retention.prune, epoch.close)
  --include-unverified
                   print unlinked and invalid records too (marked in pretty and csv output)
  --format FMT     pretty (default on a terminal, through pino-pretty), json (default
                   otherwise: each record's stored line, byte for byte; check such an
                   excerpt with "verify FILE --excerpt"), or csv
  --fields A,B.C   csv columns, dotted paths (default time,level,event,msg)
`

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

function jsonPrinter (out: NodeJS.WritableStream): Printer {
  const newline = Buffer.from('\n')
  return {
    print: async (e) => { await write(out, Buffer.concat([e.bytes, newline])) },
    end: async () => {}
  }
}

// pino-pretty and csv-stringify are loaded only for their format: every other command
// (verify above all) would otherwise carry their module graphs in memory for nothing.
async function prettyPrinter (out: NodeJS.WriteStream): Promise<Printer> {
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

export async function runShow (values: Record<string, unknown>, positionals: string[]): Promise<boolean> {
  const keys = (values.key ?? []) as string[]
  const masters = (values.master ?? []) as string[]
  const certs = (values.certs ?? []) as string[]
  if (positionals.length === 0) throw new UsageError('show needs at least one PATH (a log file, a directory, or - for standard input)')
  if ((masters.length > 0) !== (certs.length > 0)) throw new UsageError('show needs --master and --certs together: epoch keys are trusted through certificates signed by a master key')
  if (keys.length === 0 && certs.length === 0) throw new UsageError('show needs --key PUB (or --master PUB and --certs FILE): records are only shown as verified against a key you were given')
  const format = (values.format ?? (process.stdout.isTTY === true ? 'pretty' : 'json')) as Format
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')} (got "${String(values.format)}")`)
  if (values.fields !== undefined && format !== 'csv') throw new UsageError('--fields chooses the columns of --format csv; add --format csv')
  const fields = typeof values.fields === 'string' ? values.fields.split(',').map((f) => f.trim()) : DEFAULT_CSV_FIELDS
  if (fields.some((f) => f === '')) throw new UsageError(`--fields needs comma-separated field names such as time,result.exitCode (got "${String(values.fields)}")`)
  const threads = typeof values.threads === 'string' ? Number(values.threads) : undefined
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) throw new UsageError(`--threads must be a whole number from 1 to 64 (got "${String(values.threads)}")`)
  const filter: AuditFilter = {
    ...(values.event !== undefined ? { events: values.event as string[] } : {}),
    ...(typeof values.since === 'string' ? { since: values.since } : {}),
    ...(typeof values.until === 'string' ? { until: values.until } : {}),
    ...(typeof values.level === 'string' ? { level: values.level } : {}),
    where: whereOf((values.where ?? []) as string[]),
    control: values.all === true
  }
  const all = values['include-unverified'] === true
  const reader = readAuditLog(positionals, { keys, masters, certs, heads: (values.head ?? []) as string[], filter, ...(threads !== undefined ? { threads } : {}) })
  const printer = format === 'json' ? jsonPrinter(process.stdout) : format === 'csv' ? await csvPrinter(process.stdout, fields, all) : await prettyPrinter(process.stdout)
  for await (const entry of reader) {
    if (entry.status === 'intact' || all) await printer.print(entry)
  }
  await printer.end()
  const report = reader.report
  if (report === undefined) return false
  process.stderr.write(formatReport(report))
  return report.ok
}
