/**
 * One writer per chain: a lock file beside the log, created with O_EXCL. A chain
 * written by two processes at once would fork (two records with the same seq).
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { AuditChainError } from '../errors.js'

export interface LockOwner {
  pid: number
  hostname: string
  startedAt: string
}

export interface Lock {
  path: string
  release: () => void
}

function readOwner (path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>
    if (typeof owner.pid === 'number' && typeof owner.hostname === 'string') return owner as LockOwner
  } catch {}
  return undefined
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Why the lock at `path` cannot be taken, or undefined when it is free or stale. */
export function lockHolder (path: string): LockOwner | undefined {
  const owner = readOwner(path)
  if (owner === undefined) return undefined
  if (owner.hostname !== hostname()) return owner // can't check another host's pids: assume alive
  return isAlive(owner.pid) ? owner : undefined
}

function lockedError (logFile: string, lockPath: string, owner: LockOwner): AuditChainError {
  return new AuditChainError('PAC_LOCKED', `${logFile} is already being written by process ${owner.pid} on ${owner.hostname} (since ${owner.startedAt}); a chain has one writer. Stop that process, or point this one at another destination. Lock file: ${lockPath}`)
}

/** Throws PAC_LOCKED when a live process holds the lock (caller-side pre-check). */
export function assertUnlocked (logFile: string): void {
  const lockPath = `${logFile}.lock`
  const owner = lockHolder(lockPath)
  if (owner !== undefined) throw lockedError(logFile, lockPath, owner)
}

export function acquireLock (logFile: string): Lock {
  const lockPath = `${logFile}.lock`
  const me: LockOwner = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() }
  // Two tries: the second after removing a stale lock left by a dead process.
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number
    try {
      fd = openSync(lockPath, 'wx', 0o640)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AuditChainError('PAC_DESTINATION', `cannot create lock file ${lockPath} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      }
      const owner = readOwner(lockPath)
      if (owner !== undefined && lockHolder(lockPath) !== undefined) throw lockedError(logFile, lockPath, owner)
      try { unlinkSync(lockPath) } catch {}
      continue
    }
    try { writeSync(fd, JSON.stringify(me) + '\n') } finally { closeSync(fd) }
    let released = false
    return {
      path: lockPath,
      release: () => {
        if (released) return
        released = true
        // Only remove the lock if it is still ours.
        const owner = readOwner(lockPath)
        if (owner?.pid === me.pid && owner.startedAt === me.startedAt) {
          try { unlinkSync(lockPath) } catch {}
        }
      }
    }
  }
  throw new AuditChainError('PAC_LOCKED', `could not take the lock ${lockPath}: another writer is starting at the same time`)
}
