/**
 * A Writable over a file descriptor that writes synchronously, for a command run in a
 * worker thread (src/cli/command-thread.ts) to print without going through the main
 * thread. A worker's own process.stdout posts every chunk to the main thread, which
 * would then hold (and collect) a copy of everything printed: what running the command
 * in a thread is meant to avoid.
 *
 * The descriptor may be non-blocking (a pipe once the main thread has touched
 * process.stdout): EAGAIN means the reader is behind, so this thread waits a little and
 * tries again, as a blocking write would. sonic-boom's sync mode does the same but
 * waits 100 ms each time, which would cap `show | jq` at some 640 KB/s.
 */
import { writeSync } from 'node:fs'
import { Writable } from 'node:stream'

// Waits on EAGAIN: short at first (a reader that keeps up drains a pipe in well under a
// millisecond), longer while the reader stays behind, so a stalled reader costs no CPU.
const FIRST_WAIT_MS = 1
const LONGEST_WAIT_MS = 50

const sleeper = new Int32Array(new SharedArrayBuffer(4))
function sleep (ms: number): void { Atomics.wait(sleeper, 0, 0, ms) }

/** Write all of `bytes` to `fd`, waiting while it is full (EAGAIN). Throws EPIPE and other errors. */
export function writeAllSync (fd: number, bytes: Uint8Array): void {
  let done = 0
  let wait = FIRST_WAIT_MS
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done)
      wait = FIRST_WAIT_MS
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
      sleep(wait)
      wait = Math.min(wait * 2, LONGEST_WAIT_MS)
    }
  }
}

/** A Writable that writes each chunk to `fd` before `write` returns; `isTTY` as the descriptor's stream in the main thread said. */
export function fdWriter (fd: number, isTTY: boolean): Writable & { isTTY: boolean } {
  const stream = new Writable({
    decodeStrings: true,
    write (chunk: Buffer, _encoding, callback) {
      try {
        writeAllSync(fd, chunk)
        callback()
      } catch (err) {
        callback(err as Error)
      }
    }
  })
  return Object.assign(stream, { isTTY })
}
