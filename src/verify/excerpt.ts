/**
 * The excerpt rule (FORMAT.md §11): every line of the input is a record that stands on
 * its own — its hash, its Ed25519 signature by a key given, and that key's epoch
 * window. Nothing is said about links, order, or records left out: a selection of
 * records (`audit-chain show --format json`) proves only the records it holds.
 */
import { createReadStream } from 'node:fs'
import { AuditChainError } from '../errors.js'
import type { VerifyKey } from '../format/keys.js'
import { windowProblem } from './epoch-rules.js'
import type { InputGroup, InputSource } from './inputs.js'
import { forEachLine, READ_CHUNK_BYTES, type InputLine } from './lines.js'
import { checkLine } from './record-check.js'
import type { Emit } from './report.js'

export interface ExcerptContext {
  keyring: ReadonlyMap<string, VerifyKey>
  emit: Emit
  maxLineBytes: number
  stdin?: NodeJS.ReadableStream
  /** Progress, as deltas: bytes read, and records checked since the last call. */
  onRead: (bytes: number, records: number) => void
}

export interface ExcerptResult {
  /** Lines that were records (whether or not they passed). */
  records: number
  /** Records that passed every check of the excerpt rule. */
  authentic: number
  files: string[]
}

function openSource (source: InputSource, stdin: NodeJS.ReadableStream | undefined): AsyncIterable<Buffer | string> {
  if (source.kind === 'stdin') return (stdin ?? process.stdin) as AsyncIterable<Buffer | string>
  return createReadStream(source.path, { highWaterMark: READ_CHUNK_BYTES })
}

/** Check every line of every source on its own. */
export async function readExcerpt (groups: InputGroup[], ctx: ExcerptContext): Promise<ExcerptResult> {
  const { emit } = ctx
  const result: ExcerptResult = { records: 0, authentic: 0, files: [] }
  for (const source of groups.flatMap((g) => g.sources)) {
    const file = source.path
    result.files.push(file)
    let fileRecords = 0
    const onLine = (line: InputLine): void => {
      if (line.bytes === undefined) {
        emit({ kind: 'line-too-long', file, line: line.number, message: `the line is ${line.length} bytes long, more than the ${ctx.maxLineBytes}-byte limit; it was skipped unread`, group: { cause: 'limit', many: `lines are longer than the ${ctx.maxLineBytes}-byte limit (the first: ${line.length} bytes); they were skipped unread` } })
        return
      }
      const checked = checkLine(line.bytes, ctx.keyring)
      if (checked.kind === 'not-record') {
        emit({ kind: 'malformed', file, line: line.number, message: `the line is not an audit record (${checked.detail}): an excerpt holds only whole record lines`, group: { cause: checked.reason, many: `lines in a row are not audit records (the first: ${checked.detail}): an excerpt holds only whole record lines` } })
        return
      }
      result.records++
      fileRecords++
      const { member, fields, failure } = checked
      if (failure !== null) {
        emit({ kind: failure.kind, file, line: line.number, seq: member.seq, message: failure.message, group: failure.group })
        return
      }
      const cert = ctx.keyring.get(member.kid)?.epoch
      const why = cert === undefined ? undefined : windowProblem(fields.time, cert, typeof fields.event === 'string' ? fields.event : undefined)
      if (why !== undefined) {
        emit({ kind: 'out-of-window', file, line: line.number, seq: member.seq, message: why })
        return
      }
      result.authentic++
    }
    try {
      let reported = result.records
      await forEachLine(openSource(source, ctx.stdin), ctx.maxLineBytes, onLine, (bytes) => {
        ctx.onRead(bytes, result.records - reported)
        reported = result.records
      })
    } catch (err) {
      throw new AuditChainError('PAC_INPUT', `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
    if (fileRecords === 0) emit({ kind: 'empty', file, message: 'the file holds no audit record at all: there is nothing to check' })
  }
  return result
}
