/**
 * Rotated files: how they are named, how they are found again, and where a starting
 * writer continues when the current file is missing. The current file always keeps
 * the destination's name; a full one is renamed aside, so a restart never has to
 * guess which file is current (pino-roll#75: guessing by birthtime after a restart
 * appended to the wrong file).
 */
import { existsSync, readdirSync, renameSync } from 'node:fs'
import { basename, dirname, extname, join } from 'node:path'
import type { KeyObject } from 'node:crypto'
import { readChainTail, type ChainTail, type FirstRecord } from './tail.js'

/** `2026-11-27T03-15-00-123Z`: ISO 8601 UTC with `-` for `:` and `.`, so names sort by time on every filesystem. */
function fileTime (time: Date): string {
  return time.toISOString().replace(/[:.]/g, '-')
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function nameParts (destination: string): { dir: string, stem: string, ext: string } {
  const name = basename(destination)
  const ext = extname(name)
  return { dir: dirname(destination), stem: ext.length > 0 ? name.slice(0, -ext.length) : name, ext }
}

/** Matches the names {@link rotateAside} gives for `destination`. */
function rotatedPattern (destination: string): RegExp {
  const { stem, ext } = nameParts(destination)
  return new RegExp(`^${escapeRegExp(stem)}\\.\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}-\\d{3}Z\\.\\d+(-\\d+)?${escapeRegExp(ext)}$`)
}

/** Rotated files of `destination` in its directory, oldest name first (full paths). */
export function listRotated (destination: string): string[] {
  const { dir } = nameParts(destination)
  const pattern = rotatedPattern(destination)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names.filter((n) => pattern.test(n)).sort().map((n) => join(dir, n))
}

/**
 * Rename the current file aside as `<stem>.<UTC time>.<first seq><ext>`. The first seq
 * makes the name unique within the chain (seqs never repeat), the time makes names
 * sort in the order the files were written; a suffix guards against the one clash
 * left (two chains in one directory, same millisecond, same seq).
 */
export function rotateAside (destination: string, firstSeq: number, time = new Date()): string {
  const { dir, stem, ext } = nameParts(destination)
  const base = `${stem}.${fileTime(time)}.${firstSeq}`
  let target = join(dir, base + ext)
  for (let n = 1; existsSync(target); n++) target = join(dir, `${base}-${n}${ext}`)
  renameSync(destination, target)
  return target
}

/** Where a starting writer continues, and what it knows of the current file. */
export interface ResumePoint {
  tail: ChainTail
  /** The rotated file the chain continues from, when the current file was missing or empty. */
  previousFile: string | null
  /** The current file's first record, when it has one: its seq (the rotated name carries it) and `time` (rotation by interval counts from it, not from the file's birthtime). */
  firstRecord: FirstRecord | undefined
}

/**
 * Inspect the destination before writing. When it is missing or empty but rotated
 * files exist (a crash between renaming a full file and writing the next one's first
 * record, or a current file removed by hand), the chain continues from the newest
 * rotated file: starting a new chain would hide whatever happened to the old one.
 */
export function findResumePoint (destination: string, keys: ReadonlyMap<string, KeyObject>): ResumePoint {
  const tail = readChainTail(destination, keys)
  if (tail.kind !== 'empty') return { tail, previousFile: null, firstRecord: tail.kind === 'existing' ? tail.first : undefined }
  const newest = listRotated(destination).at(-1)
  if (newest === undefined) return { tail, previousFile: null, firstRecord: undefined }
  const rotated = readChainTail(newest, keys)
  if (rotated.kind !== 'existing') return { tail, previousFile: null, firstRecord: undefined }
  // Bytes after the last record of a closed file are not crash damage of ours: the
  // verifier reports them as malformed in that file; the new file starts clean.
  return { tail: { ...rotated, torn: null, needsNewline: false, stray: 0 }, previousFile: basename(newest), firstRecord: undefined }
}
