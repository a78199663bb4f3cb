/**
 * `audit-chain report`: the verdict, chains, timeline, findings and records of audit
 * logs as one self-contained HTML page for auditors (src/report). Exit status as verify.
 */
import { accessSync, constants } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { AuditChainError } from '../errors.js'
import { collectReport, DEFAULT_MAX_RECORDS } from '../report/collect.js'
import { writeReport } from '../report/html.js'
import { formatVerdict, printable } from '../verify/index.js'
import { reportHeader } from '../verify/report.js'
import { readBackOptions, type CommandIo, type ReadBackCliOptions } from './show.js'
import { UsageError, wholeNumber } from './usage-error.js'

export { DEFAULT_MAX_RECORDS }

/** The options of `report` as the command line gives them (main.ts declares them). */
export interface ReportCliOptions extends ReadBackCliOptions {
  out?: string
  state?: string
  requireSeal?: boolean
  maxRecords?: string
}

/** `audit-chain report PATH... --out FILE`: true when the records read were intact (exit status 0). */
export async function runReport (paths: string[], options: ReportCliOptions, io: CommandIo = process): Promise<boolean> {
  const trust = readBackOptions('report', paths, options)
  if (typeof options.out !== 'string' || options.out === '') throw new UsageError('report needs --out FILE: where to write the HTML page (such as --out report.html)')
  const maxRecords = options.maxRecords !== undefined ? wholeNumber('max-records', options.maxRecords, 1, 10_000_000) : undefined
  // Checked before the log is read: a gigabyte read for a page that cannot be written is an hour lost.
  const out = resolve(options.out)
  try {
    accessSync(dirname(out), constants.W_OK)
  } catch (err) {
    throw new AuditChainError('PAC_WRITE_FAILED', `--out ${out}: the directory ${dirname(out)} does not exist or cannot be written to (${(err as NodeJS.ErrnoException).code ?? 'error'}); give a path in an existing, writable directory`)
  }
  const { data, records } = await collectReport(paths, {
    ...trust,
    requireSeal: options.requireSeal === true,
    ...(options.state !== undefined ? { state: options.state } : {}),
    ...(maxRecords !== undefined ? { maxRecords } : {})
  })
  try {
    writeReport(out, data, records)
  } finally {
    records.dispose()
  }
  const verdict = formatVerdict({ ...reportHeader(), ok: data.ok, records: data.records, chains: data.chains, files: data.files, problems: data.problems, warnings: data.warnings, omitted: data.omitted, durationMs: data.durationMs })
  io.stderr.write(`${verdict}\n`)
  io.stdout.write(`report written to ${printable(out)} (${data.keptCount} of ${data.shown} records in full)\n`)
  return data.ok
}
