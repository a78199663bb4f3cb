/**
 * A run of lines that are not records, held until the next record decides what they
 * are: a torn region described by that record (`chain.resume`/`chain.open`, FORMAT.md
 * §5.2), or malformed lines. Only the region's length and running SHA-256 are kept,
 * never its bytes.
 */
import { createHash, type Hash } from 'node:crypto'
import type { TornLine } from '../format/control.js'

// The writer refuses to continue after more than 8 non-record lines or 64 MiB
// (FORMAT.md §5.2), so a longer run can never be explained: stop holding it.
export const MAX_TORN_LINES = 8
export const MAX_TORN_BYTES = 64 * 1024 * 1024

/** One held line: where it is and why it is not a record. */
export interface HeldLine {
  file: string
  line: number
  offset: number
  length: number
  detail: string
  /** False for a final line with no `\n`. */
  terminated: boolean
}

export class TornRegion {
  held: HeldLine[] = []
  private hash: Hash = createHash('sha256')
  private length = 0
  /** Set once the run is too long to be a torn region; cleared by the next record. */
  private overflowed = false

  get isEmpty (): boolean { return this.held.length === 0 }

  /**
   * Add a non-record line. Returns the lines that can no longer be explained (the
   * run grew past the writer's limits), which the caller reports as malformed now.
   */
  add (line: HeldLine, bytes: Buffer | undefined): HeldLine[] {
    if (this.overflowed) return [line]
    const joinerLength = this.held.length > 0 ? 1 : 0
    const newLength = this.length + joinerLength + line.length
    if (bytes === undefined || this.held.length >= MAX_TORN_LINES || newLength > MAX_TORN_BYTES) {
      this.overflowed = true
      const dropped = [...this.held, line]
      this.reset(true)
      return dropped
    }
    // Lines of a region are joined by their `\n` bytes, which count (FORMAT.md §5.2).
    if (joinerLength > 0) this.hash.update('\n')
    this.hash.update(bytes)
    this.length = newLength
    this.held.push(line)
    return []
  }

  /** True when `torn` describes exactly the held lines. */
  matches (torn: TornLine): boolean {
    if (this.held.length === 0) return false
    return torn.length === this.length && torn.sha256 === this.hash.copy().digest('hex')
  }

  /** Offset of the region's first byte, for the report. */
  get offset (): number { return this.held[0]?.offset ?? 0 }
  get byteLength (): number { return this.length }

  /** Forget the held lines (after reporting them); a record ends an overflowed run. */
  reset (stillOverflowed = false): void {
    this.held = []
    this.hash = createHash('sha256')
    this.length = 0
    this.overflowed = stillOverflowed
  }
}
