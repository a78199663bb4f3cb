/**
 * The log file: opened for append (0640), written through sonic-boom in sync mode
 * from the worker thread, so that when a batch's write returns its records are in
 * the kernel and a later head/flush can name them. fsync follows the FsyncMode.
 */
import { fchmodSync, fstatSync, fsync, fsyncSync, statSync, writeSync, constants } from 'node:fs'
import { dirname } from 'node:path'
import { once } from 'node:events'
import sonicBoom from 'sonic-boom'
import { AuditChainError } from '../errors.js'
import type { FsyncMode } from './options.js'
import { assertOwnedRegularFile, assertSafeDirectory, makeDirectory, openNoFollow, stillAtPath } from './safe-fs.js'

export interface LogFile {
  readonly path: string
  /** The file's size: what it held when opened plus every byte written since. */
  readonly bytes: number
  /** Write text (whole record lines); throws PAC_WRITE_FAILED when the write failed. */
  write: (text: string) => void
  /** fsync unless the mode is 'off'. */
  sync: () => Promise<void>
  /** False once the path no longer names the file being written (deleted, moved, replaced). */
  stillInPlace: () => boolean
  /** fsync (unless 'off') and close the file. */
  close: () => Promise<void>
}

const LOG_FILE_MODE = 0o640
const LOG_DIR_MODE = 0o750
// 1 MiB per write(2): fewer syscalls for big batches; sonic-boom's default is 16 KiB.
const MAX_WRITE_BYTES = 1024 * 1024
// sonic-boom is CommonJS: its module object is the constructor; its types describe the named export.
const { SonicBoom } = sonicBoom as unknown as typeof import('sonic-boom')

/**
 * Create the log file's directory (0750) when `mkdir` is on; the lock file lives there
 * too. Then refuse, before anything is read or written there, a directory others can
 * write to or own, and a log or lock file that is a symlink or another user's
 * (safe-fs.ts). Called at start in the caller's thread and again in the worker.
 */
export function ensureLogDirectory (path: string, mkdir: boolean): void {
  const dir = dirname(path)
  assertNotAStream(path)
  if (mkdir) {
    try {
      makeDirectory(dir, LOG_DIR_MODE, 'the directory of the log file')
    } catch (err) {
      if (err instanceof AuditChainError) throw err
      throw new AuditChainError('PAC_DESTINATION', `cannot create the directory ${dir} for ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  assertSafeDirectory(dir)
  assertOwnedRegularFile(path, 'log file')
  assertOwnedRegularFile(`${path}.lock`, 'lock file')
}

/**
 * `/dev/stdout`, `/dev/fd/1`, a terminal, a pipe or a device: what pino/file users
 * type out of habit, and what a chain cannot live in (nothing to resume from, to lock
 * or to fsync). Said plainly, with the way to sign lines for such a destination,
 * before the symlink and directory checks would word it as an attack.
 */
function assertNotAStream (path: string): void {
  let stat
  try {
    stat = statSync(path) // follows /dev/stdout → /proc/self/fd/1 → the stream itself
  } catch {}
  // /dev/stdout may name a regular file (stdout redirected to one): still not ours to keep a chain in.
  const devicePath = /^\/(dev\/(?!shm\/)|proc\/[^/]+\/fd\/)/.test(path)
  if (!devicePath && (stat === undefined || stat.isFile() || stat.isDirectory())) return
  const kind = stat === undefined || stat.isFile() ? 'a device path' : stat.isCharacterDevice() ? 'a terminal or device' : stat.isFIFO() ? 'a pipe' : stat.isSocket() ? 'a socket' : 'not a regular file'
  throw new AuditChainError('PAC_DESTINATION', `destination ${path} is ${kind}: the file transport keeps a chain in a regular file it can resume, lock and fsync. To send signed lines to stdout or any other stream, use the pipeline stage: pipeline: [{ target: "pino-audit-chain/stage", options }, { target: "pino/file", options: { destination: 1 } }]`)
}

/** The head file's place, checked like the log's: its directory (when it has its own) and the file itself. */
export function assertHeadLocation (headFile: string | undefined, destination: string): void {
  if (headFile === undefined) return
  if (dirname(headFile) !== dirname(destination)) assertSafeDirectory(dirname(headFile), 'head file directory')
  assertOwnedRegularFile(headFile, 'head file')
}

export function openLogFile (path: string, opts: { fsync: FsyncMode }): LogFile {
  let fd: number
  try {
    // No symlink followed, a FIFO never blocks the open, and only this user's regular file is used.
    fd = openNoFollow(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, LOG_FILE_MODE, 'log file')
  } catch (err) {
    if (err instanceof AuditChainError) throw err
    const code = (err as NodeJS.ErrnoException).code
    const hint = code === 'ENOENT' ? ' (the directory does not exist; set mkdir: true or create it)' : ''
    throw new AuditChainError('PAC_DESTINATION', `cannot open log file ${path} for appending (${code ?? 'error'})${hint}`)
  }
  // O_CREAT's mode is filtered by the umask; a log file must not end up world-readable.
  const stat = fstatSync(fd)
  if ((stat.mode & 0o777) !== LOG_FILE_MODE && stat.size === 0) {
    try { fchmodSync(fd, LOG_FILE_MODE) } catch {}
  }

  let bytes = stat.size
  const sonic = new SonicBoom({ fd, sync: true, fsync: opts.fsync === 'always', maxWrite: MAX_WRITE_BYTES, minLength: 0 })
  let failure: Error | undefined
  sonic.on('error', (err: NodeJS.ErrnoException) => {
    if (failure !== undefined) return
    failure = new AuditChainError('PAC_WRITE_FAILED', `writing to ${path} failed (${err.code ?? err.message}); records from here on are not on disk`, { cause: err })
    // Said on stderr synchronously, from this thread: at process exit pino has no
    // listener left for the transport's 'error', and a lost audit write must be loud.
    try { writeSync(2, `pino-audit-chain: ${failure.message}\n`) } catch {}
  })

  let interval: NodeJS.Timeout | undefined
  if (typeof opts.fsync === 'number') {
    interval = setInterval(() => { fsync(fd, () => {}) }, opts.fsync)
    interval.unref()
  }

  const syncNow = (): Promise<void> => new Promise((resolve, reject) => {
    if (opts.fsync === 'off') { resolve(); return }
    fsync(fd, (err) => {
      if (err) reject(new AuditChainError('PAC_WRITE_FAILED', `fsync of ${path} failed (${err.code ?? err.message})`, { cause: err }))
      else resolve()
    })
  })

  return {
    path,
    get bytes () { return bytes },
    write (text) {
      if (failure !== undefined) throw failure
      bytes += Buffer.byteLength(text)
      sonic.write(text)
      if (failure !== undefined) throw failure
    },
    sync: syncNow,
    stillInPlace: () => stillAtPath(fd, path),
    async close () {
      if (interval !== undefined) clearInterval(interval)
      if (failure === undefined) {
        sonic.flushSync()
        if (opts.fsync !== 'off') {
          try { fsyncSync(fd) } catch {}
        }
      }
      const closed = once(sonic, 'close')
      sonic.end()
      await closed
      if (failure !== undefined) throw failure
    }
  }
}
