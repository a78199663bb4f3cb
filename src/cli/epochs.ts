/**
 * `audit-chain epochs --master MASTER.key --start ISO --interval 1d --count N --out DIR`:
 * generate and certify epoch keys (src/epoch/generate.ts).
 */
import { loadSigningKey } from '../format/keys.js'
import { parseDuration } from '../config/units.js'
import { generateEpochs, writeEpochFiles } from '../epoch/generate.js'
import { UsageError, wholeNumber } from './usage-error.js'

/** The options of `epochs` as the command line gives them (main.ts declares them). */
export interface EpochsCliOptions {
  master?: string
  start?: string
  interval?: string
  count?: string
  out?: string
  name?: string
}

// An ISO 8601 date-time with an explicit zone: a bare local time would mean different
// windows on the machine that generates the keys and the one that uses them.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/
const MIN_INTERVAL_MS = 1000
const MAX_COUNT = 100_000

export function runEpochs (options: EpochsCliOptions): number {
  const need = (name: 'master' | 'start' | 'interval' | 'count' | 'out', what: string): string => {
    const v = options[name]
    if (typeof v !== 'string' || v.length === 0) throw new UsageError(`epochs needs --${name} ${what}`)
    return v
  }
  const masterPath = need('master', 'MASTER.key (the master private key from "audit-chain keygen --master")')
  const startText = need('start', 'TIME (start of the first epoch, e.g. 2026-12-01T00:00:00Z)')
  const intervalText = need('interval', 'DURATION (length of each epoch, e.g. 1d)')
  const countText = need('count', 'N (how many epochs)')
  const out = need('out', 'DIR (where to write the bundle and the certificates)')
  const start = ISO_WITH_ZONE.test(startText) ? Date.parse(startText) : NaN
  if (!Number.isFinite(start)) throw new UsageError(`--start must be an ISO 8601 time with a time zone, such as 2026-12-01T00:00:00Z (got "${startText}")`)
  const interval = parseDuration(intervalText)
  if (interval === undefined || interval < MIN_INTERVAL_MS) throw new UsageError(`--interval must be a duration of at least 1s, such as 1d, 6h or 30m (got "${intervalText}")`)
  const count = wholeNumber('count', countText, 1, MAX_COUNT)
  const master = loadSigningKey(masterPath, '--master')
  const files = writeEpochFiles(out, generateEpochs(master, start, interval, count), master, options.name)
  const iso = (ms: number): string => new Date(ms).toISOString()
  process.stdout.write(`series        ${files.series} (${count} epochs of ${intervalText}, master key ${master.kid})
first epoch   ${iso(files.first.notBefore)} – ${iso(files.first.notAfter)}
last epoch    ends ${iso(files.last.notAfter)}: generate the next series before then
key bundle    ${files.bundlePath}  (mode 0600: for the log host, transport option epochKeysPath; it erases each epoch's key when the epoch ends)
certificates  ${files.certsPath}  (for auditors: audit-chain verify LOGS --master MASTER.pub --certs ${files.certsPath})
`)
  return 0
}
