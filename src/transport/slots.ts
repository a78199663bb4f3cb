/**
 * One chain per process in one directory (option `perProcess`). `logs/audit.log`
 * stands for the slots `logs/audit.0.log`, `logs/audit.1.log`, …: each is an ordinary
 * destination with its own lock, head file and rotated files, and a starting writer
 * takes the lowest slot whose lock it gets.
 *
 * Slots, not worker ids or pids: node:cluster gives a replacement worker a new id and
 * the kernel a new pid, so neither names the chain of the worker it replaces. The
 * lock does: a crashed process's lock is dropped by the kernel, so the next writer to
 * start takes that slot and continues its chain with chain.resume, after the same
 * tail and head checks as any restart.
 *
 * A slot file planted by someone who can write the directory is just a destination
 * with that content: opened without following symlinks, resumed only when its tail
 * checks against our keys, refused otherwise (PAC_TAIL_INVALID, PAC_INSECURE), exactly
 * as `logs/audit.log` would be. Which slot a writer takes decides no trust.
 */
import { basename, dirname, extname, join } from 'node:path'
import { AuditChainError, hasCode } from '../errors.js'
import { acquireLock, isLocked, type Lock } from './lock.js'
import type { ResolvedOptions } from './options.js'

// A sanity bound: more live writers than this on one directory is a leak of
// processes or locks, not an app; past it a writer fails instead of scanning on.
export const MAX_SLOTS = 1024

/** `logs/audit.log` → `logs/audit.3.log`; `logs/audit` → `logs/audit.3`. */
export function slotPath (path: string, slot: number): string {
  const name = basename(path)
  const ext = extname(name)
  const stem = ext.length > 0 ? name.slice(0, -ext.length) : name
  return join(dirname(path), `${stem}.${slot}${ext}`)
}

/**
 * The options of the writer on `slot`: its log file, and its head file. The default
 * head file follows the slot's log file (`audit.3.log.head.json`); a head file the user
 * named gets the slot number the same way as the log (`heads/audit.json` →
 * `heads/audit.3.json`), so no two processes share one.
 */
export function slotOptions (opts: ResolvedOptions, slot: number): ResolvedOptions {
  const destination = slotPath(opts.destination, slot)
  const { headFile } = opts
  const ownHead = headFile === undefined ? undefined : headFile === `${opts.destination}.head.json` ? `${destination}.head.json` : slotPath(headFile, slot)
  return { ...opts, destination, headFile: ownHead }
}

function slotsFull (destination: string): AuditChainError {
  return new AuditChainError('PAC_LOCKED', `all ${MAX_SLOTS} per-process slots of ${destination} (${basename(slotPath(destination, 0))} to ${basename(slotPath(destination, MAX_SLOTS - 1))}) are held by live writers; a writer takes the lowest free slot. Stop some of them, or give this process another destination`)
}

/**
 * Take the lowest slot whose lock is free, for good (the writer's lock). A busy slot is
 * passed over at once: its holder is alive, and waiting would only delay the start.
 */
export function acquireSlot (destination: string): { slot: number, lock: Lock } {
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    try {
      return { slot, lock: acquireLock(slotPath(destination, slot), 0) }
    } catch (err) {
      if (!hasCode(err, 'PAC_LOCKED')) throw err
    }
  }
  throw slotsFull(destination)
}

/**
 * The slot a writer starting now would most likely take, for the caller-side checks
 * only: it looks without holding, so the worker may end up with another one.
 */
export function probeSlot (destination: string): number {
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    if (!isLocked(slotPath(destination, slot))) return slot
  }
  throw slotsFull(destination)
}
