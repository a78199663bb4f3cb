/**
 * The findings of one run, in bounded memory: a log of 15 million bad lines must not
 * take the verifier's heap with it (issue 12), nor its report the reader (issue 13).
 *
 * Consecutive lines of one file that fail the same way (a plain app log: every line
 * malformed; the wrong key: every record unknown-key) are one finding with a count and
 * a line range, grouped here as they are recorded. A group ends at the first finding
 * that does not continue it, of whatever kind, so grouping never hides that something
 * else happened in between. Then the first groups of each kind are kept in full, the
 * rest only counted, so a flood of one kind never hides the one finding of another.
 */
import { printable, type Finding, type FindingKind, type Found, type OmittedFindings, type Severity } from './report.js'

/**
 * Findings (groups) kept in full per kind. With the ~25 kinds, at most some 25,000
 * findings of a few hundred bytes each (a few MB) are held, whatever the input; 1,000
 * of one kind is more than a person reads, and enough to see the pattern.
 */
export const MAX_FINDINGS_PER_KIND = 1000

/** The group the last finding started or continued: what the next one must match to join it. */
interface OpenGroup {
  kind: FindingKind
  file: string
  cause: string
  /** The sentence for the whole group, after its count (`Found.group.many` of its first line). */
  many: string
  count: number
  lastLine: number
  lastSeq: number | undefined
  /** The kept finding it grows; undefined when the group was only counted (over the cap). */
  finding: Finding | undefined
}

export class FindingLog {
  private readonly problems: Finding[] = []
  private readonly warnings: Finding[] = []
  private readonly kept = new Map<FindingKind, number>()
  private readonly omitted: OmittedFindings = { problems: 0, warnings: 0, byKind: {} }
  /** The first left-out problem of each file, for the state file (see `problemsByFile`). */
  private readonly leftOutByFile = new Map<string, Finding>()
  private open: OpenGroup | undefined

  add (f: Found, severity: Severity): void {
    const open = this.open
    if (open !== undefined && f.group !== undefined && f.line === open.lastLine + 1 &&
      f.kind === open.kind && f.file === open.file && f.group.cause === open.cause) {
      open.count++
      open.lastLine = f.line
      open.lastSeq = f.seq
      return
    }
    this.settle()
    const keep = (this.kept.get(f.kind) ?? 0) < MAX_FINDINGS_PER_KIND
    // Messages quote the log where that helps (JSON.parse echoes the start of a bad
    // line), and a log is untrusted input: escaped here, --json included. A finding
    // only counted is not escaped (a flood of them costs no time on it).
    // Fixed key order, and no `undefined` members, so --json output reads the same every time.
    const finding: Finding = {
      kind: f.kind,
      severity,
      file: f.file,
      ...(f.line !== undefined ? { line: f.line } : {}),
      ...(f.seq !== undefined ? { seq: f.seq } : {}),
      message: keep ? printable(f.message) : f.message,
      count: 1
    }
    if (f.group !== undefined && f.line !== undefined) {
      this.open = { kind: f.kind, file: f.file, cause: f.group.cause, many: f.group.many, count: 1, lastLine: f.line, lastSeq: f.seq, finding: keep ? finding : undefined }
    }
    const problem = severity === 'problem'
    if (keep) {
      this.kept.set(f.kind, (this.kept.get(f.kind) ?? 0) + 1)
      ;(problem ? this.problems : this.warnings).push(finding)
      return
    }
    this.omitted.byKind[f.kind] = (this.omitted.byKind[f.kind] ?? 0) + 1
    if (problem) {
      this.omitted.problems++
      if (!this.leftOutByFile.has(f.file)) this.leftOutByFile.set(f.file, finding)
    } else {
      this.omitted.warnings++
    }
  }

  /** Close the open group: a kept one of several lines gets its count, ranges and message. */
  private settle (): void {
    const open = this.open
    this.open = undefined
    const g = open?.finding
    if (open === undefined || g === undefined || open.count === 1) return
    g.message = printable(`${open.count} ${open.many}`)
    g.count = open.count
    g.firstLine = g.line
    g.lastLine = open.lastLine
    if (g.seq !== undefined && open.lastSeq !== undefined) {
      g.firstSeq = g.seq
      g.lastSeq = open.lastSeq
    }
  }

  /** The findings, once every one was added: problems, warnings and what was left out (copies of the lists). */
  result (): { problems: Finding[], warnings: Finding[], omitted: OmittedFindings } {
    this.settle()
    return {
      problems: [...this.problems],
      warnings: [...this.warnings],
      omitted: { problems: this.omitted.problems, warnings: this.omitted.warnings, byKind: { ...this.omitted.byKind } }
    }
  }

  /**
   * The kept problems plus one left-out problem of each file no kept problem names:
   * the state file must not record a chain as verified whose only problems were left
   * out of the report. Bounded by the number of files.
   */
  problemsByFile (): Finding[] {
    const named = new Set(this.problems.map((p) => p.file))
    return [...this.problems, ...[...this.leftOutByFile.values()].filter((f) => !named.has(f.file))]
  }
}
