/**
 * Retention: which rotated files of this chain to delete (oldest first, never one in
 * the middle), and deleting them. The writer records each pass in a signed
 * `retention.prune` record before it deletes anything (worker.ts).
 */
import { statSync, unlinkSync } from 'node:fs'
import { basename } from 'node:path'
import type { PrunedFile } from '../format/control.js'
import type { RetentionOptions } from './options.js'
import { listRotated } from './rotation.js'
import { readFileRange } from './tail.js'

export interface PruneFailure { file: string, code: string }

export interface PrunePlan {
  /** Files to delete, oldest (lowest seq) first, with what the prune record says of them. */
  files: Array<{ path: string, pruned: PrunedFile }>
  /** Rotated files that could not be read to decide. */
  failed: PruneFailure[]
}

function codeOf (err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? 'error'
}

/**
 * The rotated files of chain `chainId` that retention removes now: beyond `maxFiles`
 * (the current file not counted), then any further ones last modified more than
 * `maxAgeMs` ago. Files are taken in seq order and the first one kept stops the
 * pass, so the chain that remains is always contiguous. Rotated files of other
 * chains in the directory are left alone: this chain cannot vouch for them.
 */
export function planPrune (destination: string, chainId: string, retention: RetentionOptions, now = Date.now()): PrunePlan {
  const ours: Array<{ path: string, pruned: PrunedFile, mtimeMs: number }> = []
  const failed: PruneFailure[] = []
  for (const path of listRotated(destination)) {
    try {
      const range = readFileRange(path)
      if (range === undefined || range.chainId !== chainId) continue
      ours.push({ path, mtimeMs: statSync(path).mtimeMs, pruned: { file: basename(path), firstSeq: range.firstSeq, lastSeq: range.lastSeq, lastHash: range.lastHash } })
    } catch (err) {
      failed.push({ file: basename(path), code: codeOf(err) })
    }
  }
  ours.sort((a, b) => a.pruned.firstSeq - b.pruned.firstSeq)
  const excess = retention.maxFiles === undefined ? 0 : Math.max(0, ours.length - retention.maxFiles)
  const oldest = retention.maxAgeMs === undefined ? -Infinity : now - retention.maxAgeMs
  let count = 0
  while (count < ours.length && (count < excess || ours[count].mtimeMs < oldest)) count++
  return { files: ours.slice(0, count).map(({ path, pruned }) => ({ path, pruned })), failed }
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
