/**
 * The one line that a crash may have left incomplete, held until the next record
 * decides what it is: a torn line described by that record (`chain.resume` /
 * `chain.open`, FORMAT.md §5.2 and §7), or a malformed line. Only its length and
 * SHA-256 are kept, never its bytes.
 *
 * Why one line, and never a complete JSON value: one appending writer that dies
 * mid-write leaves at most its last line cut short, and a proper prefix of a record
 * line (a JSON object) never parses as JSON. Anything more — a second line, or a line
 * that parses — was written whole by someone, and a restart record that describes it
 * does not make it crash damage (issue 12, item 3: otherwise anyone who can append to
 * the log gets complete lines past jq and log shippers with only a warning).
 */
import { createHash } from 'node:crypto'
import type { TornLine } from '../format/control.js'
import { isCompleteJson } from '../format/record.js'

// The writer never sets aside more than 64 MiB (FORMAT.md §5.2), so a longer line can
// never be explained.
export const MAX_TORN_BYTES = 64 * 1024 * 1024

/** One held line: where it is and why it is not a record. */
export interface HeldLine {
  file: string
  line: number
  offset: number
  length: number
  detail: string
  /** A short, fixed name for why it is not a record: held lines with the same reason are reported as one group. */
  reason: string
  /** False for a final line with no `\n`. */
  terminated: boolean
}

export class TornRegion {
  /** The candidate line, when the last line read was not a record (at most one). */
  held: HeldLine[] = []
  private sha256 = ''
  private length = 0
  /** False once the held line is known to be no crash's work (complete JSON, too long). */
  private explainable = false

  get isEmpty (): boolean { return this.held.length === 0 }

  /**
   * Hold a non-record line. Returns the lines that can no longer be explained — the
   * line held before it, since only the one line right before a restart record can be
   * torn — which the caller reports as malformed now.
   */
  add (line: HeldLine, bytes: Buffer | undefined): HeldLine[] {
    const dropped = this.held
    this.held = [line]
    this.length = line.length
    this.explainable = false
    this.sha256 = ''
    if (bytes === undefined || line.length > MAX_TORN_BYTES) return dropped
    this.explainable = !isCompleteJson(bytes)
    this.sha256 = createHash('sha256').update(bytes).digest('hex')
    return dropped
  }

  /**
   * True when `torn` describes exactly the held line and that line can be crash
   * damage. When it describes a line that cannot be (complete JSON), the held line's
   * `detail` says so, for the malformed finding the caller then reports.
   */
  matches (torn: TornLine): boolean {
    const described = this.held.length === 1 && this.sha256 !== '' && torn.length === this.length && torn.sha256 === this.sha256
    if (described && !this.explainable) {
      this.held[0].detail += '; the restart record after it describes it as a torn line, but it is a complete JSON value, which a crash cannot leave (a line cut short never parses): it was written whole'
    }
    return described && this.explainable
  }

  /** Offset of the held line's first byte, for the report. */
  get offset (): number { return this.held[0]?.offset ?? 0 }
  get byteLength (): number { return this.length }

  /** Forget the held line (after reporting it). */
  reset (): void {
    this.held = []
    this.sha256 = ''
    this.length = 0
    this.explainable = false
  }
}
