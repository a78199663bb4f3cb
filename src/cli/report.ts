/**
 * `audit-chain report`: the verdict, chains, timeline, findings and records of audit
 * logs as one self-contained HTML page for auditors (src/report). Exit status as verify.
 */
import { accessSync, constants } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { AuditChainError } from '../errors.js'
import type { ParseArgsConfig } from 'node:util'
import { collectReport, DEFAULT_MAX_RECORDS } from '../report/collect.js'
import { writeReport } from '../report/html.js'
import { formatVerdict, printable } from '../verify/index.js'
import { SHOW_OPTIONS } from './show.js'
import { UsageError } from './usage-error.js'
import type { AuditFilter } from '../read/filter.js'

const { 'include-unverified': _u, format: _f, fields: _fields, ...TRUST_AND_FILTERS } = SHOW_OPTIONS

export const REPORT_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  ...TRUST_AND_FILTERS,
  state: { type: 'string' },
  'require-seal': { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  'max-records': { type: 'string' }
}

export const REPORT_USAGE = `report   Write one HTML page for auditors: the verdict, the keys and anchors used, one row
         per chain, a timeline of events with alerts and findings marked, the findings, and
         the records (filter, sort, full JSON on click; records not intact are marked).
         It opens offline in any browser; nothing in the log can run in it.
  --out FILE       the page to write (required; replaced if it exists)
  --key PUB, --master PUB --certs FILE, --head FILE, --state FILE, --require-seal, --threads N
                   as for verify
  --event, --since, --until, --level, --where, --all
                   as for show: the records the page counts and lists
  --max-records N  records carried in full, at most (default ${DEFAULT_MAX_RECORDS}): always every
                   alert, warning, error and record not intact (and those around it) first,
                   then an even sample of the rest; counts and timeline cover every record
  Exit status as verify: 0 intact, 1 problems found, 2 could not run.
`

function whereOf (items: string[]): Record<string, string> {
  const where: Record<string, string> = {}
  for (const item of items) {
    const at = item.indexOf('=')
    if (at <= 0) throw new UsageError(`--where needs FIELD=VALUE, such as sessionId=s-42 or result.exitCode=0 (got "${item}")`)
    where[item.slice(0, at)] = item.slice(at + 1)
  }
  return where
}

function wholeNumber (name: string, text: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!(n >= min && n <= max)) throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${text}")`)
  return n
}

export async function runReport (values: Record<string, unknown>, positionals: string[]): Promise<boolean> {
  const keys = (values.key ?? []) as string[]
  const masters = (values.master ?? []) as string[]
  const certs = (values.certs ?? []) as string[]
  if (positionals.length === 0) throw new UsageError('report needs at least one PATH (a log file, a directory, or - for standard input)')
  if (typeof values.out !== 'string' || values.out === '') throw new UsageError('report needs --out FILE: where to write the HTML page (such as --out report.html)')
  if ((masters.length > 0) !== (certs.length > 0)) throw new UsageError('report needs --master and --certs together: epoch keys are trusted through certificates signed by a master key')
  if (keys.length === 0 && certs.length === 0) throw new UsageError('report needs --key PUB (or --master PUB and --certs FILE): records are only reported as verified against a key you were given')
  const threads = typeof values.threads === 'string' ? wholeNumber('threads', values.threads, 1, 64) : undefined
  const maxRecords = typeof values['max-records'] === 'string' ? wholeNumber('max-records', values['max-records'], 1, 10_000_000) : undefined
  const filter: AuditFilter = {
    ...(values.event !== undefined ? { events: values.event as string[] } : {}),
    ...(typeof values.since === 'string' ? { since: values.since } : {}),
    ...(typeof values.until === 'string' ? { until: values.until } : {}),
    ...(typeof values.level === 'string' ? { level: values.level } : {}),
    where: whereOf((values.where ?? []) as string[]),
    control: values.all === true
  }
  // Checked before the log is read: a gigabyte read for a page that cannot be written is an hour lost.
  const out = resolve(values.out)
  try {
    accessSync(dirname(out), constants.W_OK)
  } catch (err) {
    throw new AuditChainError('PAC_WRITE_FAILED', `--out ${out}: the directory ${dirname(out)} does not exist or cannot be written to (${(err as NodeJS.ErrnoException).code ?? 'error'}); give a path in an existing, writable directory`)
  }
  const { data, records } = await collectReport(positionals, {
    keys,
    masters,
    certs,
    heads: (values.head ?? []) as string[],
    requireSeal: values['require-seal'] === true,
    ...(typeof values.state === 'string' ? { state: values.state } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(maxRecords !== undefined ? { maxRecords } : {}),
    filter
  })
  try {
    writeReport(out, data, records)
  } finally {
    records.dispose()
  }
  const verdict = formatVerdict({ ok: data.ok, records: data.records, chains: data.chains, files: data.files, problems: data.problems, warnings: data.warnings, omitted: data.omitted, durationMs: data.durationMs })
  process.stderr.write(`${verdict}\n`)
  process.stdout.write(`report written to ${printable(out)} (${data.keptCount} of ${data.shown} records in full)\n`)
  return data.ok
}
