/**
 * A progress bar on standard error, for long runs on a terminal only: never in
 * --json, never when stderr is a pipe or a file (it would end up in logs).
 */

// 8 MB: below that, verify finishes in about a second and a bar would only flicker.
export const PROGRESS_MIN_BYTES = 8 * 1024 * 1024
// Redraw at most 10 times a second: often enough to look alive, cheap to draw.
const REDRAW_MS = 100
const WIDTH = 30

export interface Progress {
  update: (done: number, total: number) => void
  done: () => void
}

const none: Progress = { update: () => {}, done: () => {} }

function mb (bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(bytes < 10_000_000 ? 1 : 0)} MB`
}

export function progressBar (stream: NodeJS.WriteStream, enabled: boolean): Progress {
  if (!enabled || stream.isTTY !== true) return none
  let last = 0
  let drawn = false
  return {
    update (done, total) {
      if (total < PROGRESS_MIN_BYTES) return
      const now = Date.now()
      if (now - last < REDRAW_MS && done < total) return
      last = now
      const ratio = Math.min(1, done / total)
      const filled = Math.round(ratio * WIDTH)
      stream.write(`\rverifying [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${Math.floor(ratio * 100)}% ${mb(done)} / ${mb(total)}`)
      drawn = true
    },
    done () {
      if (drawn) stream.write('\r\x1b[K')
    }
  }
}
