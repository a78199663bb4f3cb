/**
 * Events per time bucket, by type, in constant memory whatever the log's time span:
 * buckets start one second wide and double in width (merging pairs) whenever the
 * records would need more than MAX_BUCKETS of them.
 */

/** Bars on the chart: enough to see a pattern, few enough to draw in one SVG. */
export const MAX_BUCKETS = 120
/**
 * Event types given their own series; the rest are counted as `(other)`. Event names
 * are log content, so their number is the attacker's to choose: it must not be ours.
 */
export const MAX_SERIES = 40
export const OTHER_SERIES = '(other)'
const FIRST_WIDTH_MS = 1000

export interface TimelineData {
  /** Start of the first bucket (epoch ms) and each bucket's width. */
  start: number
  widthMs: number
  /** Each series' counts, one per bucket, oldest first (a list: event names are log content, never object keys). */
  series: Array<{ type: string, counts: number[] }>
  /** Alert records, warnings-or-worse (level ≥ 40) and records not intact, per bucket. */
  alerts: number[]
  warnings: number[]
  notIntact: number[]
}

interface Bucket {
  byType: Map<string, number>
  alerts: number
  warnings: number
  notIntact: number
}

export interface RecordMarks {
  alert: boolean
  warning: boolean
  notIntact: boolean
}

export class Timeline {
  private widthMs = FIRST_WIDTH_MS
  private readonly buckets = new Map<number, Bucket>()
  private min = Infinity
  private max = -Infinity
  private readonly types = new Set<string>()

  add (time: number, type: string, marks: RecordMarks): void {
    const series = this.types.has(type) || this.types.size < MAX_SERIES ? type : OTHER_SERIES
    this.types.add(series)
    let index = Math.floor(time / this.widthMs)
    while (Math.max(this.max, index) - Math.min(this.min, index) + 1 > MAX_BUCKETS) {
      this.widen()
      index = Math.floor(time / this.widthMs)
    }
    this.min = Math.min(this.min, index)
    this.max = Math.max(this.max, index)
    let b = this.buckets.get(index)
    if (b === undefined) {
      b = { byType: new Map(), alerts: 0, warnings: 0, notIntact: 0 }
      this.buckets.set(index, b)
    }
    b.byType.set(series, (b.byType.get(series) ?? 0) + 1)
    if (marks.alert) b.alerts++
    if (marks.warning) b.warnings++
    if (marks.notIntact) b.notIntact++
  }

  /** Double the width: bucket i of the old width lies in bucket floor(i / 2) of the new. */
  private widen (): void {
    const old = [...this.buckets]
    this.buckets.clear()
    this.widthMs *= 2
    for (const [i, b] of old) {
      const j = Math.floor(i / 2)
      const into = this.buckets.get(j)
      if (into === undefined) { this.buckets.set(j, b); continue }
      for (const [t, n] of b.byType) into.byType.set(t, (into.byType.get(t) ?? 0) + n)
      into.alerts += b.alerts
      into.warnings += b.warnings
      into.notIntact += b.notIntact
    }
    if (this.min !== Infinity) {
      this.min = Math.floor(this.min / 2)
      this.max = Math.floor(this.max / 2)
    }
  }

  /** The buckets from the first record's to the last's, empty ones included; undefined when no record had a time. */
  data (): TimelineData | undefined {
    if (this.min === Infinity) return undefined
    const n = this.max - this.min + 1
    const byType = new Map<string, number[]>()
    for (const t of this.types) byType.set(t, new Array<number>(n).fill(0))
    const alerts = new Array<number>(n).fill(0)
    const warnings = new Array<number>(n).fill(0)
    const notIntact = new Array<number>(n).fill(0)
    for (const [i, b] of this.buckets) {
      const k = i - this.min
      for (const [t, c] of b.byType) (byType.get(t) as number[])[k] = c
      alerts[k] = b.alerts
      warnings[k] = b.warnings
      notIntact[k] = b.notIntact
    }
    const series = [...byType].map(([type, counts]) => ({ type, counts }))
    return { start: this.min * this.widthMs, widthMs: this.widthMs, series, alerts, warnings, notIntact }
  }
}
