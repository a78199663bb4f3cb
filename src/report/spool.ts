/**
 * The kept records' page text, on disk until the page is written: 50,000 records of a
 * few hundred bytes each would otherwise sit in the heap beside the verifier's own
 * ~120 MB (bench/README.md), and the report writer must stay under 150 MB for a log
 * of a million records. Only an offset and a length per record stay in memory.
 * The file is private (0600, in a fresh 0700 directory): log content can be sensitive.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Spooled {
  offset: number
  length: number
}

// Writes are gathered to this size: one syscall per record would cost more than the page.
const WRITE_BUFFER_BYTES = 1 << 20

export class Spool {
  private readonly dir = mkdtempSync(join(tmpdir(), 'pac-report-'))
  private readonly fd = openSync(join(this.dir, 'records'), 'w+', 0o600)
  private offset = 0
  private pending: Buffer[] = []
  private pendingBytes = 0

  put (text: string): Spooled {
    const bytes = Buffer.from(text, 'utf8')
    const at = { offset: this.offset, length: bytes.length }
    this.offset += bytes.length
    this.pending.push(bytes)
    this.pendingBytes += bytes.length
    if (this.pendingBytes >= WRITE_BUFFER_BYTES) this.flush()
    return at
  }

  private flush (): void {
    if (this.pendingBytes === 0) return
    writeSync(this.fd, Buffer.concat(this.pending, this.pendingBytes))
    this.pending = []
    this.pendingBytes = 0
  }

  get (at: Spooled): string {
    this.flush()
    const buf = Buffer.allocUnsafe(at.length)
    let done = 0
    while (done < at.length) {
      const n = readSync(this.fd, buf, done, at.length - done, at.offset + done)
      if (n === 0) throw new Error(`the report's record spool ended early at byte ${at.offset + done}`)
      done += n
    }
    return buf.toString('utf8')
  }

  /** Close and delete the spool (safe to call twice). */
  dispose (): void {
    try { closeSync(this.fd) } catch {}
    rmSync(this.dir, { recursive: true, force: true })
  }
}
