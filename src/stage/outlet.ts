/**
 * The stage's outlet: the readable side of the stage, which carries record lines to
 * the next step of the pipeline at the pace that step reads them.
 */
import { Readable } from 'node:stream'

// Bytes of record lines held for the next step before the stage stops taking lines:
// room for four sign pieces of 256 records (sign-pool.ts PIECE_RECORDS) of ~1 KB each.
const OUTLET_HIGH_WATER_MARK = 1024 * 1024

export interface Outlet {
  readonly stream: Readable
  /** Bytes pushed and not yet read by the next step. */
  readonly buffered: number
  /** Hand whole record lines to the next step. */
  push: (text: string) => void
  /** Call `cb` once the next step has room (at once if it has, or if the outlet is destroyed). */
  whenReady: (cb: () => void) => void
  /** No more records: the next step sees the end. */
  end: () => void
}

export function createOutlet (): Outlet {
  let waiting: Array<() => void> = []
  const release = (): void => {
    const ready = waiting
    waiting = []
    for (const cb of ready) cb()
  }
  const stream = new Readable({
    highWaterMark: OUTLET_HIGH_WATER_MARK,
    // Called when the next step wants more: whoever waited for room may go on.
    read: release,
    destroy (err, cb) {
      release()
      cb(err)
    }
  })
  return {
    stream,
    get buffered () { return stream.readableLength },
    push (text) { stream.push(text) },
    whenReady (cb) {
      if (stream.destroyed || stream.readableLength < stream.readableHighWaterMark) cb()
      else waiting.push(cb)
    },
    end () { stream.push(null) }
  }
}
