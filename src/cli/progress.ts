/**
 * Progress of `verify` on standard error (cli-progress): for files, a bar with the
 * share read, records/s and the time left; for standard input, whose size is
 * unknown, the records read and their rate. By default only on a terminal and never
 * with --json or --quiet (a bar in a piped or logged stderr is noise); `--progress`
 * forces it on, written then as one line every few seconds and a last line at the end.
 */
import { createRequire } from 'node:module'
import type { SingleBar } from 'cli-progress'

export interface Progress {
  update: (bytesDone: number, bytesTotal: number, recordsDone: number) => void
  done: () => void
}

/** Standard error: the process's, or its descriptor written from the command thread (off-thread.ts). */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean }

/** `--progress` / `--no-progress` (undefined: neither). */
export type ProgressSwitch = boolean | undefined

const none: Progress = { update: () => {}, done: () => {} }

// Off a terminal (forced), one line every 2 s: enough to see a long run move, few lines in a log.
const LINE_EVERY_MS = 2000

/** Whether to show progress: forced either way, or by default on a terminal when output is not --json/--quiet. */
export function wantsProgress (forced: ProgressSwitch, stream: ProgressStream, quietOutput: boolean): boolean {
  if (forced !== undefined) return forced
  return !quietOutput && stream.isTTY === true
}

function megabytes (bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 1 : 0)} MB`
}

function count (n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

/** Seconds as 42s, 3m07s or 1h02m; `?` until a rate is known. */
function timeLeft (seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

interface Payload { records: number, rate: number, bytes: number }

export function progressBar (stream: ProgressStream, enabled: boolean): Progress {
  if (!enabled) return none
  const startedAt = Date.now()
  const width = 24
  // Files: share of the bytes (the bar's value), records and their rate, cli-progress's
  // ETA (averaged over the last updates). Standard input only: no total, no bar.
  const format = (_options: unknown, params: { value: number, total: number, eta: number }, payload: Payload): string => {
    const rate = `${count(payload.rate)} records/s`
    if (params.total === 0) return `verifying ${count(payload.records)} records | ${rate} | ${megabytes(payload.bytes)} read`
    const ratio = Math.min(1, params.value / params.total)
    const filled = Math.round(ratio * width)
    const eta = ratio >= 1 ? '0s' : timeLeft(params.eta)
    return `verifying [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(ratio * 100)}% ${megabytes(Math.min(params.value, params.total))} / ${megabytes(params.total)} | ${count(payload.records)} records | ${rate} | ${eta} left`
  }
  // Loaded only when shown: a verify run without progress (--json, cron) does not carry it.
  const { SingleBar: Bar } = createRequire(import.meta.url)('cli-progress') as { SingleBar: new (options: object) => SingleBar }
  const bar = new Bar({
    stream,
    format,
    fps: 10,
    clearOnComplete: true,
    hideCursor: false,
    noTTYOutput: stream.isTTY !== true,
    notTTYSchedule: LINE_EVERY_MS
  })
  let shown = false
  const payload: Payload = { records: 0, rate: 0, bytes: 0 }
  return {
    update (bytesDone, bytesTotal, recordsDone) {
      const seconds = (Date.now() - startedAt) / 1000
      payload.records = recordsDone
      payload.bytes = bytesDone
      payload.rate = seconds > 0 ? recordsDone / seconds : 0
      // Standard input after files: bytes past the files' total; the bar stays at its end.
      const value = bytesTotal === 0 ? 0 : Math.min(bytesDone, bytesTotal)
      if (!shown) {
        shown = true
        bar.start(bytesTotal, value, payload)
        return
      }
      bar.update(value, payload)
    },
    done () {
      if (shown) bar.stop()
    }
  }
}
