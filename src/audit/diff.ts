/**
 * The unified diff between a session's previous code and the code that runs now
 * (jsdiff's `createTwoFilesPatch`), bounded in time so one call can't stall the app.
 */
import { createRequire } from 'node:module'

// jsdiff is loaded on the first diff, not at import (see config/schema.ts on zod).
const require = createRequire(import.meta.url)

// Myers' diff costs O((N+M)·D). Past this many edited lines a diff is no longer
// readable anyway, and the record still carries both texts' SHA-256.
const MAX_EDIT_LENGTH = 2000
// 1 MiB per side: diffing more than that on the caller's thread is not worth it.
const MAX_INPUT_BYTES = 1024 * 1024

/** A unified diff (`--- previous` / `+++ current`, 3 context lines), or why none was made. */
export function unifiedDiff (previous: string, current: string): { patch: string } | { omitted: 'too-large' | 'too-many-changes' } {
  if (Buffer.byteLength(previous) > MAX_INPUT_BYTES || Buffer.byteLength(current) > MAX_INPUT_BYTES) return { omitted: 'too-large' }
  const { createTwoFilesPatch, FILE_HEADERS_ONLY } = require('diff') as typeof import('diff')
  const patch = createTwoFilesPatch('previous', 'current', previous, current, undefined, undefined, { context: 3, maxEditLength: MAX_EDIT_LENGTH, headerOptions: FILE_HEADERS_ONLY })
  return patch === undefined ? { omitted: 'too-many-changes' } : { patch }
}
