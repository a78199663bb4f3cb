/**
 * Reading the files of one chain, one after another, line by line: each line is
 * checked on its own (§4), runs of non-record lines are held until the next record
 * says whether they are a torn region, and records go to their chain's state (§7).
 */
import { createReadStream } from 'node:fs'
import { AuditChainError } from '../errors.js'
import { CONTROL_EVENTS } from '../format/body.js'
import { isTornLine } from '../format/control.js'
import type { VerifyKey } from '../format/keys.js'
import { ChainState, type ChainRecord, type LinkOptions, type RecordStatus } from './chain-state.js'
import type { HeadBook } from './heads.js'
import type { InputGroup, InputSource } from './inputs.js'
import { DEFAULT_MAX_LINE_BYTES, forEachLine, READ_CHUNK_BYTES, type InputLine } from './lines.js'
import { chainWindowOf, Demux, DEFAULT_REORDER_WINDOW } from './demux.js'
import { createOrderedChecker } from './ordered-check.js'
import { checkLine, type CheckedLine } from './record-check.js'
import type { ChainSummary, Emit, Found } from './report.js'
import type { SigPool } from './sig-pool.js'
import { TornRegion, type HeldLine } from './torn.js'

export interface GroupContext {
  keyring: ReadonlyMap<string, VerifyKey>
  heads: HeadBook
  emit: Emit
  maxLineBytes: number
  requireSeal: boolean
  windowSize?: number
  /** Records of a merged stream a record may arrive late by (src/verify/demux.ts); default DEFAULT_REORDER_WINDOW. */
  reorderWindow?: number
  stdin?: NodeJS.ReadableStream
  /** Progress, as deltas: bytes read, and records placed since the last call. */
  onRead: (bytes: number, records: number) => void
  /** Threads that check the signatures; without one they are checked inline. */
  pool?: SigPool
  /** Reading the records back (readAuditLog): each record with its status, in reading order. */
  records?: RecordReading
}

export interface RecordReading {
  onRecord: (r: ChainRecord, status: RecordStatus, chainId: string | null) => void
  /** A promise while the reader's consumer is behind: no further line is read until it settles. */
  pace: () => Promise<void> | undefined
  /** See LinkOptions.trustedStart. */
  trustedStart?: number
}

export interface GroupResult {
  chains: ChainSummary[]
  records: number
  files: string[]
}

function openSource (source: InputSource, stdin: NodeJS.ReadableStream | undefined): AsyncIterable<Buffer | string> {
  if (source.kind === 'stdin') return (stdin ?? process.stdin) as AsyncIterable<Buffer | string>
  return createReadStream(source.path, { highWaterMark: READ_CHUNK_BYTES })
}

function malformed (held: HeldLine, atEnd: boolean): Found {
  const at = { kind: 'malformed', file: held.file, line: held.line } as const
  if (!held.terminated && atEnd) {
    return { ...at, message: `the last line is incomplete (no newline) and not a record (${held.detail}): a torn last line, as a crash mid-write leaves, not yet explained by a restart (chain.resume)` }
  }
  return {
    ...at,
    message: `the line is not an audit record (${held.detail}) and no restart record explains it as a torn line`,
    // A plain app log in the directory is thousands of these, one reason throughout.
    group: { cause: held.reason, many: `lines in a row are not audit records (the first: ${held.detail}), and no restart record explains them as torn lines` }
  }
}

/** Read every file of `group`; returns the summaries of the chains found in it. */
export async function readGroup (group: InputGroup, ctx: GroupContext): Promise<GroupResult> {
  const { emit } = ctx
  const reading = ctx.records
  const newChain = (chainId: string | null, trustedStart?: number, windowSize = ctx.windowSize, merged = false): ChainState => {
    // In a merged stream a finding's file and line do not say which chain it is about.
    const out: Emit = !merged
      ? emit
      : (f) => { emit(state.chainId === null || f.message.includes(state.chainId) ? f : { ...f, message: `${f.message} (chain ${state.chainId})` }) }
    const link: LinkOptions | undefined = reading === undefined
      ? undefined
      : { onPlaced: (r, status) => { reading.onRecord(r, status, state.chainId) }, ...(trustedStart !== undefined ? { trustedStart } : {}) }
    const state: ChainState = new ChainState(chainId, out, ctx.heads, windowSize, link)
    return state
  }
  const current = newChain(group.chainId, reading?.trustedStart)
  /**
   * The line's bytes for a record read back: a copy, since a view would keep its whole
   * read chunk alive, unless the signature checker already copied them (a second copy
   * per record was a third of show's garbage on a 1 GB log, bench/README.md "Memory").
   */
  const kept = (line: InputLine): { bytes?: Buffer } => reading === undefined || line.bytes === undefined ? {} : { bytes: line.owned === true ? line.bytes : Buffer.from(line.bytes) }
  /** A record that is authentic but not placed in the chain (copied in from another). */
  const notPlaced = (r: ChainRecord): void => { reading?.onRecord(r, r.failed ? 'invalid' : 'unlinked', r.fields.chainId as string ?? null) }
  // A single input (standard input, or one file: a pipeline stage's destination, or a
  // collector's file) may hold the chains of pipeline stages, one after another or
  // interleaved. From the first pipeline chain.open on, the records are routed by their
  // hash links (demux.ts). The file transport's chains never share a file: in a group
  // of several files, or a single file before any pipeline chain.open, a control record
  // of another chain was copied in.
  const mayHoldSeveral = group.sources.length === 1
  const reorderWindow = ctx.reorderWindow ?? DEFAULT_REORDER_WINDOW
  let demux: Demux | undefined
  /** The hash of the newest record placed in `current` (where a demux takes over from). */
  let currentTail: string | undefined
  const startDemux = (): Demux => {
    const first = current.hasRecords && currentTail !== undefined ? { state: current, tail: currentTail } : undefined
    return new Demux({
      window: reorderWindow,
      emit,
      requireSeal: ctx.requireSeal,
      notPlaced,
      newChain: (chainId) => newChain(chainId, undefined, chainWindowOf(reorderWindow), true)
    }, first)
  }
  /** Records of a single input before its first control record: held (at most the window) until one says whether the input is a merged stream. */
  let prelude: Array<{ record: ChainRecord, at: number }> | undefined = mayHoldSeveral ? [] : undefined
  const place = (record: ChainRecord, at: number): void => {
    if (demux !== undefined) {
      demux.add(record, at)
      return
    }
    const { fields, member } = record
    const event = typeof fields.event === 'string' ? fields.event : undefined
    const chainId = typeof fields.chainId === 'string' ? fields.chainId : undefined
    if (!record.failed && chainId !== undefined && event !== undefined && CONTROL_EVENTS.has(event)) {
      if (current.chainId === null) {
        current.learnId(chainId)
      } else if (chainId !== current.chainId) {
        // A validly signed control record of another chain (same key): copied in from
        // another log. It is not placed in this chain, so it costs one finding only.
        emit({ kind: 'inserted', file: record.file, line: record.line, seq: member.seq, message: `this ${event} record belongs to chain ${chainId}, not to chain ${current.chainId} whose file this is: it was copied in from another log` })
        notPlaced(record)
        return
      }
    }
    current.add(record)
    currentTail = member.hash
  }
  const flushPrelude = (): void => {
    const held = prelude ?? []
    prelude = undefined
    for (const h of held) place(h.record, h.at)
  }
  let records = 0
  let recordsReported = 0
  const reportRead = (bytes: number): void => {
    ctx.onRead(bytes, records - recordsReported)
    recordsReported = records
  }
  const files: string[] = []

  for (const source of group.sources) {
    const file = source.path
    files.push(file)
    current.noteFile(file)
    const torn = new TornRegion()
    let fileRecords = 0
    /** Lines since the last record that were not records (held, overflowed or too long). */
    let nonRecordLines = 0

    const reportHeld = (held: HeldLine[], atEnd: boolean): void => {
      for (const h of held) {
        if ((demux === undefined ? current.isSealed : demux.isSealed) && (h.terminated || !atEnd)) {
          const seal = `the chain's seal (chain.close at seq ${String(demux === undefined ? current.sealSeq : demux.sealSeq)})`
          emit({
            kind: 'after-seal',
            file: h.file,
            line: h.line,
            message: `a line that is not a record (${h.detail}) follows ${seal}: bytes were appended after the log was closed`,
            group: { cause: `line ${h.reason}`, many: `lines that are not records (the first: ${h.detail}) follow ${seal}: bytes were appended after the log was closed` }
          })
        } else {
          emit(malformed(h, atEnd))
        }
      }
    }

    // Called in reading order with each line's §4 result (`null`: too long to be read).
    const onLine = (line: InputLine, checked: CheckedLine | null): void => {
      if (checked === null) {
        nonRecordLines++
        reportHeld(torn.held, false)
        torn.reset()
        const why = ctx.maxLineBytes >= DEFAULT_MAX_LINE_BYTES
          ? 'the writer never signs a line that long (it wraps a longer one, FORMAT.md §3.1), so it is not one the writer produced'
          : `a record may be that long: raise the limit (--max-line-bytes, default ${DEFAULT_MAX_LINE_BYTES}) to check it`
        emit({
          kind: 'line-too-long',
          file,
          line: line.number,
          message: `the line is ${line.length} bytes long, more than the ${ctx.maxLineBytes}-byte limit; it was skipped unread: ${why}`,
          group: { cause: 'limit', many: `lines are longer than the ${ctx.maxLineBytes}-byte limit (the first: ${line.length} bytes); they were skipped unread: ${why}` }
        })
        return
      }
      // FORMAT.md §1: a record line ends with `\n`, so a last line without one is torn even
      // when its bytes are a whole record; the writer sets such a line aside when it
      // restarts (src/transport/tail.ts). Taking it as a record would call a log whose
      // final newline was cut off intact, though the writer would not continue from it.
      if (checked.kind === 'not-record' || !line.terminated) {
        const [reason, detail] = checked.kind === 'not-record'
          ? [checked.reason, checked.detail]
          : ['unterminated', `without its newline it does not count as a record, although its bytes are one (seq ${checked.member.seq})`]
        const held: HeldLine = { file, line: line.number, offset: line.offset, length: line.length, detail, reason, terminated: line.terminated }
        nonRecordLines++
        reportHeld(torn.add(held, line.bytes), false)
        return
      }
      const followsNonRecord = nonRecordLines > 0
      nonRecordLines = 0
      records++
      fileRecords++
      const { member, fields, failure } = checked
      const event = typeof fields.event === 'string' ? fields.event : undefined
      const chainId = typeof fields.chainId === 'string' ? fields.chainId : undefined
      // The certificate of the epoch key that signed it (§10): the chain checks when it signed.
      const epoch = failure === null ? ctx.keyring.get(member.kid)?.epoch : undefined

      // Held non-record lines: a torn region if this (valid) restart record describes them.
      if (!torn.isEmpty) {
        const description = fields.torn
        if (failure === null && (event === 'chain.resume' || event === 'chain.open') && isTornLine(description) && torn.matches(description)) {
          const first = torn.held[0]
          const where = description.offset === torn.offset ? `at byte offset ${torn.offset}` : `at byte offset ${torn.offset} (the restart record says ${description.offset})`
          emit({ kind: 'torn', file, line: first.line, message: `${torn.held.length === 1 ? 'an incomplete line' : `${torn.held.length} incomplete lines`} (${torn.byteLength} bytes ${where}) left by a crash, set aside and described by the ${event} record at line ${line.number}; nothing was lost that had been written completely` })
        } else {
          reportHeld(torn.held, false)
        }
      } else if (failure === null && (event === 'chain.resume' || event === 'chain.open') && isTornLine(fields.torn) && !followsNonRecord) {
        // The signed record says a crash left bytes right before it, and there are none:
        // without this, deleting a torn line (with its \n) would leave an intact log.
        emit({ kind: 'missing', file, line: line.number, seq: member.seq, message: `the ${event} record says a crash left a torn line of ${fields.torn.length} bytes right before it (at byte offset ${fields.torn.offset}), which it set aside, but there is no such line: it was removed` })
      }
      torn.reset()
      if (failure !== null) emit({ kind: failure.kind, file, line: line.number, seq: member.seq, message: failure.message, group: failure.group })
      const record: ChainRecord = { file, line: line.number, member, fields, failed: failure !== null, epoch, ...kept(line) }
      const pipelineOpen = failure === null && event === 'chain.open' && member.seq === 0 && fields.pipeline === true
      if (prelude !== undefined) {
        const control = failure === null && event !== undefined && CONTROL_EVENTS.has(event)
        if (!control && prelude.length < reorderWindow) {
          prelude.push({ record, at: records })
          return
        }
        const held = prelude
        prelude = undefined
        if (pipelineOpen) demux = startDemux()
        for (const h of held) place(h.record, h.at)
      }
      if (demux === undefined && mayHoldSeveral && pipelineOpen && chainId !== current.chainId) demux = startDemux()
      place(record, records)
    }

    const checker = ctx.pool === undefined ? undefined : createOrderedChecker(ctx.pool, ctx.keyring, onLine, reading !== undefined)
    const check = checker?.push ?? ((line: InputLine): void => { onLine(line, line.bytes === undefined ? null : checkLine(line.bytes, ctx.keyring)) })
    const paced = reading === undefined
      ? check
      : (line: InputLine): void | Promise<void> => {
          const checked = check(line)
          const behind = reading.pace()
          if (behind === undefined) return checked
          return checked === undefined ? behind : checked.then(async () => { await behind })
        }
    try {
      await forEachLine(openSource(source, ctx.stdin), ctx.maxLineBytes, paced, reportRead)
      await checker?.finish()
      flushPrelude()
      // Records still in the signature threads at the last chunk are counted now.
      reportRead(0)
    } catch (err) {
      if (err instanceof AuditChainError && (err.code === 'PAC_VERIFY_FAILED' || err.code === 'PAC_CLOSED')) throw err
      throw new AuditChainError('PAC_INPUT', `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
    // A torn region is explained only within its file (a restart resumes the same file).
    reportHeld(torn.held, true)
    if (fileRecords === 0) {
      emit({ kind: 'empty', file, message: 'the file holds no audit record at all: it was emptied, or it is not an audit log' })
    }
  }

  if (demux !== undefined) return { chains: demux.finish(), records, files }
  return { chains: current.hasRecords ? [current.finish(ctx.requireSeal)] : [], records, files }
}
