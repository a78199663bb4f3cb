/**
 * Retention: which rotated files of this chain to delete (oldest first, never one in
 * the middle), and deleting them. The writer records each pass in a signed
 * `retention.prune` record before it deletes anything (worker.ts), and that record
 * only ever says what the chain itself proves (chain-files.ts).
 */
import { unlinkSync } from 'node:fs'
import { basename } from 'node:path'
import type { KeyObject } from 'node:crypto'
import type { PrunedFile } from '../format/control.js'
import type { RetentionOptions } from './options.js'
import { chainFiles, checkFileLinks, codeOf } from './chain-files.js'

export interface PruneFailure { file: string, code: string }

export interface PrunePlan {
  /** Files to delete, oldest (lowest seq) first, with what the prune record says of them. */
  files: Array<{ path: string, pruned: PrunedFile }>
  /** Rotated-looking files that could not be read, or not tied to this chain: never deleted. */
  failed: PruneFailure[]
  /** Why each failed file was left, for the app's warning. */
  reasons: string[]
}

/**
 * The rotated files of chain `chainId` that retention removes now: beyond `maxFiles`
 * (the current file not counted), then any further ones closed more than `maxAgeMs`
 * ago (by the signed time of the next file's first record, not the file's mtime,
 * which anyone who can write the directory can set). Only files linked to the
 * current file's first record count; the first one kept stops the pass, and so does
 * one whose lines do not all check, so the chain that remains is always contiguous.
 * Files of other chains in the directory are left alone.
 */
export async function planPrune (destination: string, chainId: string, retention: RetentionOptions, keys: ReadonlyMap<string, KeyObject>, now = Date.now()): Promise<PrunePlan> {
  const { proven, unproven } = chainFiles(destination, chainId, keys)
  const failed: PruneFailure[] = unproven.map((u) => ({ file: basename(u.path), code: u.code }))
  const reasons = unproven.map((u) => `${basename(u.path)}: ${u.reason}`)
  const excess = retention.maxFiles === undefined ? 0 : Math.max(0, proven.length - retention.maxFiles)
  const oldest = retention.maxAgeMs === undefined ? -Infinity : now - retention.maxAgeMs
  const files: PrunePlan['files'] = []
  for (const [i, f] of proven.entries()) {
    if (!(i < excess || (f.closedAt !== undefined && f.closedAt < oldest))) break
    const fault = await checkFileLinks(f)
    if (fault !== undefined) {
      failed.push({ file: basename(f.path), code: 'UNPROVEN' })
      reasons.push(`${basename(f.path)}: ${fault}`)
      break
    }
    files.push({ path: f.path, pruned: { file: basename(f.path), firstSeq: f.firstSeq, lastSeq: f.lastSeq, lastHash: f.lastHash } })
  }
  return { files, failed, reasons }
}

/** Delete the planned files; returns those that could not be deleted. */
export function deleteFiles (files: PrunePlan['files']): PruneFailure[] {
  const failed: PruneFailure[] = []
  for (const { path } of files) {
    try {
      unlinkSync(path)
    } catch (err) {
      failed.push({ file: basename(path), code: codeOf(err) })
    }
  }
  return failed
}
