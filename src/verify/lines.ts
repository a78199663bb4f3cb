/**
 * Splitting a byte stream into lines (FORMAT.md §1: a line is the bytes before a
 * `\n`), in constant memory: at most one line is held, and a line longer than the
 * limit is counted and skipped, never buffered.
 */

import { MAX_LINE_BYTES } from '../format/limits.js'

/** The writer's own limit (FORMAT.md §3.1): every record it signs is read in full by default. */
export const DEFAULT_MAX_LINE_BYTES = MAX_LINE_BYTES

// 512 KiB reads. Not more: a line's bytes are a view of its chunk, so each line still
// in flight keeps a whole chunk alive; 1 MiB reads peaked ~5-20 MB higher in verify and
// show. Not less: with 256 KiB (one 128-record batch of 2 KB records per read) the
// reading thread ended up checking most signatures itself while it waited for the
// next read, and verify ran at half the rate (bench/README.md "Memory").
export const READ_CHUNK_BYTES = 512 * 1024

const NEWLINE = 0x0a

/** One line of input. */
export interface InputLine {
  /** 1-based line number in its file. */
  number: number
  /** Byte offset of the line's first byte in its file. */
  offset: number
  /** Length in bytes, without the `\n`. */
  length: number
  /**
   * The line's bytes without its `\n`, or `undefined` when the line is longer than
   * the limit (it was skipped). Only valid during the callback (or until the promise
   * the callback returned settles): it may be a view into a read buffer that is
   * reused afterwards.
   */
  bytes: Buffer | undefined
  /** False for a last line with no `\n` after it: a candidate torn line. */
  terminated: boolean
  /**
   * True when `bytes` is a private copy, not a view of a read buffer, so it may be kept
   * as it is (ordered-check.ts copies the lines it holds for readAuditLog).
   */
  owned?: boolean
}

/**
 * Return `false` from the callback to stop reading early, or a promise to hold the
 * next line back until it settles (backpressure; a rejection ends the reading).
 */
export type LineHandler = (line: InputLine) => void | boolean | Promise<void>

/**
 * Call `onLine` for every line of `source`, in order. `onChunk` is told how many
 * bytes were consumed after each chunk (for progress).
 */
export async function forEachLine (
  source: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
  onLine: LineHandler,
  onChunk?: (bytes: number) => void
): Promise<void> {
  let parts: Buffer[] = []
  let partLength = 0
  let tooLong = false
  let number = 1
  let lineStart = 0

  const emit = (last: Buffer | undefined, terminated: boolean): void | boolean | Promise<void> => {
    const length = partLength + (last?.length ?? 0)
    let bytes: Buffer | undefined
    if (!tooLong && length <= maxLineBytes) {
      if (parts.length === 0) bytes = last ?? Buffer.alloc(0)
      else bytes = Buffer.concat(last === undefined ? parts : [...parts, last], length)
    }
    const more = onLine({ number, offset: lineStart, length, bytes, terminated })
    parts = []
    partLength = 0
    tooLong = false
    number++
    lineStart += length + 1
    return more
  }

  for await (const data of source) {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    let start = 0
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start)
      if (end < 0) break
      const more = emit(chunk.subarray(start, end), true)
      if (more === false) return
      if (more instanceof Promise) await more
      start = end + 1
    }
    if (start < chunk.length) {
      const rest = chunk.length - start
      if (!tooLong && partLength + rest > maxLineBytes) {
        // Drop what we held: from here on the line is only counted.
        tooLong = true
        parts = []
      }
      // Copy: the stream may reuse its buffer, and we keep this piece past the chunk.
      if (!tooLong) parts.push(Buffer.from(chunk.subarray(start)))
      partLength += rest
    }
    onChunk?.(chunk.length)
  }
  if (partLength > 0) await emit(undefined, false)
}
