/**
 * readAuditLog: the records of audit logs, back in chain order, each vouched for by
 * the verifier itself (src/verify): the same reading, the same checks and the same
 * report as `verify()`, plus each record's status as the chain placed it.
 */
import { AuditChainError } from '../errors.js'
import type { VerifyOptions, VerifyReport } from '../verify/index.js'
import type { ChainRecord, RecordStatus } from '../verify/chain-state.js'
import { Channel } from './channel.js'
import { dateTime } from '../format/control-time.js'
import { compileFilter, type AuditFilter } from './filter.js'

export type { RecordStatus } from '../verify/chain-state.js'

/** Options of {@link readAuditLog}: the trust options of `verify()`, and a filter. */
export interface ReadAuditLogOptions extends Omit<VerifyOptions, 'excerpt'> {
  filter?: AuditFilter
}

/** One record read back. */
export interface AuditEntry {
  /** The record as the app logged it: its body, without the chain member. */
  record: Record<string, unknown>
  /** The stored line, exactly (without its `\n`), as text and as bytes. */
  line: string
  bytes: Buffer
  file: string
  /** 1-based line number in `file`. */
  lineNumber: number
  /** The chain's id, once a record of the chain named it. */
  chainId: string | null
  seq: number
  /** The record's `time`, ISO 8601, when it has a numeric one. */
  time?: string
  /**
   * `intact`: its hash, signature, key window and every link back to the chain's start
   * check; `unlinked`: authentic, but what comes before it is missing or altered;
   * `invalid`: it fails its own hash, signature or key-window check.
   */
  status: RecordStatus
}

/** The entries, and once they are all read, the verifier's report. */
export interface AuditLogReader extends AsyncIterable<AuditEntry> {
  /** The same report `verify()` gives, set once the iteration has ended (undefined before). */
  readonly report: VerifyReport | undefined
}

// Entries read ahead of the consumer: some 256 records of a few hundred bytes each.
const READ_AHEAD = 256

function entryOf (r: ChainRecord, status: RecordStatus, chainId: string | null, record: Record<string, unknown>): AuditEntry {
  const bytes = r.bytes ?? Buffer.alloc(0)
  // `line` and `time` are written out when asked for: show --format json writes the
  // bytes, neither show nor report reads `time`, and a string each per record (and a
  // Date) are garbage a long read pays for in peak RSS and CPU. Two literals, not a
  // spread: a spread would call the getters.
  let line: string | undefined
  let time: string | undefined
  const ms = dateTime(record.time)
  if (ms === undefined) {
    return { record, get line () { return (line ??= bytes.toString('utf8')) }, bytes, file: r.file, lineNumber: r.line, chainId, seq: r.member.seq, status }
  }
  return { record, get line () { return (line ??= bytes.toString('utf8')) }, bytes, file: r.file, lineNumber: r.line, chainId, seq: r.member.seq, get time () { return (time ??= new Date(ms).toISOString()) }, status }
}

/**
 * Read audit logs back: every record (in chain order, one chain after another) that
 * matches `options.filter`, with its status, in constant memory. Throws (on the first
 * iteration step) an {@link AuditChainError} when it cannot run, as `verify()` does.
 * Findings do not stop it: they are in `report` at the end, as `verify()` gives them.
 *
 * @example
 * const log = readAuditLog(['/var/log/app'], { keys: ['audit.pub'], filter: { events: ['code_execution'], since: '7d' } })
 * for await (const e of log) if (e.status === 'intact') console.log(e.record)
 * if (!log.report?.ok) console.error('the log has problems')
 */
export function readAuditLog (paths: string[], options: ReadAuditLogOptions): AuditLogReader {
  if (options === null || typeof options !== 'object') throw new AuditChainError('PAC_BAD_OPTION', 'readAuditLog needs options with the keys to check records with (keys, or masters and certs)')
  const keep = compileFilter(options.filter)
  const { filter: _filter, ...verifyOptions } = options
  let report: VerifyReport | undefined
  let started = false
  return {
    get report () { return report },
    async * [Symbol.asyncIterator] () {
      if (started) throw new AuditChainError('PAC_BAD_OPTION', 'a readAuditLog reader can be iterated once; call readAuditLog again to read the log again')
      started = true
      // The verifier is loaded on the first read, not when an app imports the package.
      const { runVerify } = await import('../verify/index.js')
      const channel = new Channel<AuditEntry>(READ_AHEAD)
      const run = runVerify(paths, verifyOptions, {
        onRecord: (r, status, chainId) => {
          const { chain: _chain, ...body } = r.fields
          if (keep(body)) channel.push(entryOf(r, status, chainId, body))
        },
        pace: () => channel.pace()
      }).then((r) => {
        report = r
        channel.end()
      }, (err: unknown) => { channel.end(err) })
      try {
        yield * channel.drain()
      } finally {
        // A consumer that stops early (break) stops the reading; its PAC_CLOSED is ours, not theirs.
        channel.close()
        await run
      }
    }
  }
}
