/**
 * Alert thresholds: count matching events in a sliding window per threshold.
 *
 * A threshold fires on the event that brings the count within the window to
 * exactly `count` — not before — and then starts counting from zero again (the
 * window resets). A steady burst therefore raises one alert per `count` matching
 * events, not one per event after the first alert. Times are the log call's
 * clock time, not the event's own time fields (which callers may backdate).
 */
import type { AlertThreshold } from '../config/types.js'
import type { AuditEventType, RiskLevel } from './vocabulary.js'
import { riskRank } from './vocabulary.js'

/** A record the tracker saw. */
export interface ObservedEvent {
  event: AuditEventType | string
  eventId: string
  /** Epoch ms of the log call. */
  time: number
  /** For security assessments. */
  riskLevel?: RiskLevel
}

/** A threshold that was crossed, with the records that crossed it (oldest first). */
export interface CrossedThreshold {
  threshold: AlertThreshold
  records: ReadonlyArray<{ eventId: string, time: number }>
}

export interface AlertTracker {
  /** Count one record; returns the thresholds it made fire (usually none). */
  observe: (event: ObservedEvent) => CrossedThreshold[]
}

function matches (t: AlertThreshold, e: ObservedEvent): boolean {
  if (t.event !== e.event) return false
  if (t.riskLevel === undefined) return true
  return e.riskLevel !== undefined && riskRank(e.riskLevel) >= riskRank(t.riskLevel)
}

export function createAlertTracker (thresholds: readonly AlertThreshold[]): AlertTracker {
  const windows = thresholds.map(() => [] as Array<{ eventId: string, time: number }>)
  return {
    observe (e) {
      const crossed: CrossedThreshold[] = []
      thresholds.forEach((t, i) => {
        if (!matches(t, e)) return
        // Keep only records younger than the window: one exactly `window` old has left it.
        const recent = windows[i].filter((r) => e.time - r.time < t.windowMs)
        recent.push({ eventId: e.eventId, time: e.time })
        if (recent.length >= t.count) {
          crossed.push({ threshold: t, records: recent })
          windows[i] = []
        } else {
          windows[i] = recent
        }
      })
      return crossed
    }
  }
}
