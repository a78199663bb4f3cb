/**
 * The findings of one run, in bounded memory: a log of 15 million bad lines must not
 * take the verifier's heap with it (issue 12). The first findings of each kind are
 * kept in full, the rest only counted, so a flood of one kind (malformed lines) never
 * hides the one finding of another (a bad signature) that matters more.
 */
import type { Finding, FindingKind, OmittedFindings } from './report.js'

/**
 * Findings kept in full per kind. With the ~25 kinds, at most some 25,000 findings of
 * a few hundred bytes each (a few MB) are held, whatever the input; 1,000 of one kind
 * is more than a person reads, and enough to see the pattern.
 */
export const MAX_FINDINGS_PER_KIND = 1000

export class FindingLog {
  readonly problems: Finding[] = []
  readonly warnings: Finding[] = []
  private readonly kept = new Map<FindingKind, number>()
  private readonly omitted: OmittedFindings = { problems: 0, warnings: 0, byKind: {} }
  /** The first left-out problem of each file, for the state file (see `problemsByFile`). */
  private readonly leftOutByFile = new Map<string, Finding>()

  /** True when a finding of `kind` would be kept: the caller need not build one otherwise. */
  keeps (kind: FindingKind): boolean {
    return (this.kept.get(kind) ?? 0) < MAX_FINDINGS_PER_KIND
  }

  add (f: Finding): void {
    const problem = f.severity === 'problem'
    if (this.keeps(f.kind)) {
      this.kept.set(f.kind, (this.kept.get(f.kind) ?? 0) + 1)
      ;(problem ? this.problems : this.warnings).push(f)
      return
    }
    this.omitted.byKind[f.kind] = (this.omitted.byKind[f.kind] ?? 0) + 1
    if (problem) {
      this.omitted.problems++
      if (!this.leftOutByFile.has(f.file)) this.leftOutByFile.set(f.file, f)
    } else {
      this.omitted.warnings++
    }
  }

  /** What was counted but not kept (a copy: the report must not change under its reader). */
  get omittedFindings (): OmittedFindings {
    return { problems: this.omitted.problems, warnings: this.omitted.warnings, byKind: { ...this.omitted.byKind } }
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
