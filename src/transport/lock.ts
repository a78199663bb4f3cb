/**
 * One writer per chain: an exclusive lock held on an open descriptor of
 * `<destination>.lock`. A chain written by two writers at once would fork (two
 * records with the same seq).
 *
 * The kernel holds the lock for as long as the open file description exists and drops
 * it when its process dies, however it dies: there is no stale lock to take over, so
 * neither a pid reused after a restart (node is pid 1 in every container) nor two
 * writers starting at the same instant can both hold it.
 *
 * Through fs-native-extensions (prebuilt, no install script): on Linux an open file
 * description lock (fcntl F_OFD_SETLK), on macOS flock(2), on Windows LockFileEx. Like
 * flock and unlike POSIX fcntl/lockf locks, an OFD lock belongs to the open file
 * description, not to the process, so two transports in one process exclude each
 * other, and closing some other descriptor of the file (the caller-side pre-check
 * does) does not drop it. Not fs-ext: its addon keeps V8 handles in static storage
 * and aborts the process (V8 CHECK, SIGTRAP) when a second pino worker thread loads
 * it after a first one has exited.
 *
 * The pid, hostname and start time written into the file are for the error message
 * only; liveness is never decided from them. The lock is advisory, and over NFS it
 * becomes a lock on the server whose release after a client crash depends on the
 * server's lease: keep the log on a local filesystem.
 */
import { closeSync, constants, ftruncateSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import { hostname } from 'node:os'
import { AuditChainError } from '../errors.js'
import { openNoFollow, stillAtPath } from './safe-fs.js'

export interface LockOwner {
  pid: number
  hostname: string
  startedAt: string
}

export interface Lock {
  path: string
  release: () => void
}

interface LockApi {
  /** True when taken, false when another open file description holds a conflicting lock. */
  tryLock: (fd: number) => boolean
  unlock: (fd: number) => void
}

const LOCK_FILE_MODE = 0o640
// A releasing writer unlinks the file while still holding it; a writer that opened
// that same file just before and locks it after must start over on the new file.
// Each retry means another writer came and went meanwhile, so a few are plenty.
const MAX_ATTEMPTS = 16
// The caller-side pre-check of another process holds the lock for a few microseconds
// (assertUnlocked): a writer that finds it busy looks again this many times, this far
// apart, before it reports PAC_LOCKED. A real writer holds it far longer.
const BUSY_RETRIES = 5
const BUSY_RETRY_MS = 10

const pause = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) }

let lockApi: LockApi | undefined
function loadLockApi (): LockApi {
  if (lockApi !== undefined) return lockApi
  try {
    lockApi = createRequire(import.meta.url)('fs-native-extensions') as LockApi
  } catch (err) {
    throw new AuditChainError('PAC_LOCK_UNAVAILABLE', `the single-writer lock needs the native module of fs-native-extensions, which cannot be loaded on ${process.platform}-${process.arch} (${(err as Error).message.split('\n')[0]}). Reinstall dependencies ("npm ci"); it ships prebuilt binaries for Linux (glibc), macOS and Windows on x64 and arm64 only`, { cause: err })
  }
  return lockApi
}

/** Take the lock on `fd`: true, or false when someone else holds it. */
function tryLock (api: LockApi, fd: number): boolean {
  try {
    return api.tryLock(fd)
  } catch (err) {
    // POSIX lets fcntl report a held lock as EACCES as well as EAGAIN.
    if ((err as NodeJS.ErrnoException).code === 'EACCES') return false
    throw err
  }
}

const lockPathOf = (logFile: string): string => `${logFile}.lock`

/** Who holds the lock, as its holder wrote it (for the message: it may be old or empty). */
function readOwner (path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>
    if (typeof owner.pid === 'number' && typeof owner.hostname === 'string') return owner as LockOwner
  } catch {}
  return undefined
}

function lockedError (logFile: string, lockPath: string): AuditChainError {
  const owner = readOwner(lockPath)
  const who = owner !== undefined
    ? `process ${owner.pid} on ${owner.hostname} (since ${owner.startedAt ?? 'an unknown time'})`
    : 'another process (still starting)'
  return new AuditChainError('PAC_LOCKED', `${logFile} is already being written by ${who}; a chain has one writer. Stop that process, or point this one at another destination. Lock file: ${lockPath}`)
}

function openFailed (lockPath: string, err: unknown): unknown {
  if (err instanceof AuditChainError) return err
  return new AuditChainError('PAC_DESTINATION', `cannot create lock file ${lockPath} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err })
}

/**
 * Throws PAC_LOCKED when a writer holds the lock (the caller-side pre-check). Takes
 * and drops the lock on a descriptor of its own, which a writer in a worker thread of
 * this same process does not share, so it cannot break that writer's lock. Opened for
 * writing (an exclusive fcntl lock needs it) but never created or written.
 */
export function assertUnlocked (logFile: string): void {
  if (isLocked(logFile)) throw lockedError(logFile, lockPathOf(logFile))
}

/** True when a writer holds the lock of `logFile` now (the same probe as {@link assertUnlocked}). */
export function isLocked (logFile: string): boolean {
  const api = loadLockApi()
  const lockPath = lockPathOf(logFile)
  let fd: number
  try {
    fd = openNoFollow(lockPath, constants.O_RDWR, 0, 'lock file')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw openFailed(lockPath, err)
  }
  try {
    if (!tryLock(api, fd)) return true
    api.unlock(fd)
    return false
  } finally {
    closeSync(fd)
  }
}

/**
 * Take the lock for `logFile` or throw PAC_LOCKED; `release` gives it up and removes
 * the file. `busyRetries`: how often a busy lock is looked at again before giving up
 * (0 for a writer that has other slots to try, src/transport/slots.ts).
 */
export function acquireLock (logFile: string, busyRetries = BUSY_RETRIES): Lock {
  const api = loadLockApi()
  const lockPath = lockPathOf(logFile)
  let busy = 0
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let fd: number
    try {
      fd = openNoFollow(lockPath, constants.O_RDWR | constants.O_CREAT, LOCK_FILE_MODE, 'lock file')
    } catch (err) {
      throw openFailed(lockPath, err)
    }
    let locked: boolean
    try {
      locked = tryLock(api, fd)
    } catch (err) {
      closeSync(fd)
      throw new AuditChainError('PAC_LOCK_UNAVAILABLE', `cannot lock ${lockPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the filesystem may not support file locks: keep the log on a local filesystem`, { cause: err })
    }
    if (!locked) {
      closeSync(fd)
      if (++busy > busyRetries) throw lockedError(logFile, lockPath)
      pause(BUSY_RETRY_MS)
      attempt--
      continue
    }
    if (!stillAtPath(fd, lockPath)) {
      closeSync(fd)
      continue
    }
    const me: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() }
    try {
      ftruncateSync(fd, 0)
      writeSync(fd, JSON.stringify(me) + '\n', 0)
    } catch {
      // Only the error message of a second writer would miss it.
    }
    let released = false
    return {
      path: lockPath,
      release: () => {
        if (released) return
        released = true
        // Unlink while still holding it: a writer that opened this file meanwhile sees
        // it gone once it gets the lock (stillAtPath) and starts over on a new one.
        if (stillAtPath(fd, lockPath)) {
          try { unlinkSync(lockPath) } catch {}
        }
        closeSync(fd)
      }
    }
  }
  throw new AuditChainError('PAC_LOCKED', `could not take the lock ${lockPath}: it was removed and re-created ${MAX_ATTEMPTS} times while this writer was starting; other writers keep starting and stopping on ${logFile}`)
}
