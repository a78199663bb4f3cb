/**
 * `audit-chain verify PATH...`: check audit logs (src/verify) and print the findings
 * and the verdict. Exit status 0 intact, 1 problems found.
 */
import { verify, formatReport, DEFAULT_MAX_LINE_BYTES, MAX_REORDER_WINDOW } from '../verify/index.js'
import { progressBar, wantsProgress, type ProgressSwitch } from './progress.js'
import type { CommandIo } from './show.js'
import { UsageError, wholeNumber } from './usage-error.js'

/** The options of `verify` as the command line gives them (main.ts declares them). */
export interface VerifyCliOptions {
  key?: string[]
  master?: string[]
  certs?: string[]
  head?: string[]
  requireSeal?: boolean
  state?: string
  threads?: string
  maxLineBytes?: string
  reorderWindow?: string
  excerpt?: boolean
  recursive?: boolean
  json?: boolean
  quiet?: boolean
  progress?: ProgressSwitch
}

/** --threads N: a whole number from 1 to 64. */
export function threadCount (text: string): number {
  return wholeNumber('threads', text, 1, 64)
}

/** --reorder-window N: records, 0 to MAX_REORDER_WINDOW. */
export function reorderWindowOf (text: string): number {
  return wholeNumber('reorder-window', text, 0, MAX_REORDER_WINDOW)
}

/** --max-line-bytes N: a whole number of bytes, at least 1. */
function lineLimit (text: string): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new UsageError(`--max-line-bytes must be a whole number of bytes, at least 1 (got "${text}"); the default is ${DEFAULT_MAX_LINE_BYTES}`)
  return n
}

export async function runVerify (paths: string[], options: VerifyCliOptions, io: CommandIo = process): Promise<number> {
  const keys = options.key ?? []
  const masters = options.master ?? []
  const certs = options.certs ?? []
  if (paths.length === 0) throw new UsageError('verify needs at least one PATH (a log file, a directory, or - for standard input)')
  if (certs.length > 0 && masters.length === 0) throw new UsageError('--certs needs --master PUB: the master public key that signed the certificates (written by "audit-chain keygen --master"); a certificate is only trusted through it')
  if (masters.length > 0 && certs.length === 0) throw new UsageError('--master needs --certs FILE: the certificate file of the epoch keys it signed (written by "audit-chain epochs")')
  if (keys.length === 0 && certs.length === 0) throw new UsageError('verify needs --key PUB: the public key the log was signed with (written by "audit-chain keygen"), or, for epoch keys, --master PUB and --certs FILE')
  const threads = options.threads === undefined ? undefined : threadCount(options.threads)
  const maxLineBytes = options.maxLineBytes === undefined ? undefined : lineLimit(options.maxLineBytes)
  const reorderWindow = options.reorderWindow === undefined ? undefined : reorderWindowOf(options.reorderWindow)
  const json = options.json === true
  const quiet = options.quiet === true
  const progress = progressBar(io.stderr, wantsProgress(options.progress, io.stderr, json || quiet))
  let report
  try {
    report = await verify(paths, {
      keys,
      masters,
      certs,
      heads: options.head ?? [],
      requireSeal: options.requireSeal === true,
      ...(options.state !== undefined ? { state: options.state } : {}),
      threads,
      ...(maxLineBytes !== undefined ? { maxLineBytes } : {}),
      ...(reorderWindow !== undefined ? { reorderWindow } : {}),
      ...(options.excerpt === true ? { excerpt: true } : {}),
      ...(options.recursive === true ? { recursive: true } : {}),
      onProgress: progress.update
    })
  } finally {
    progress.done()
  }
  io.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, { quiet }))
  return report.ok ? 0 : 1
}
