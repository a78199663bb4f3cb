/**
 * Turning schema issues into messages a person can act on: the file, the key path,
 * what was found there and what was expected.
 */
import type { z } from 'zod'
import { knownKeys } from './schema.js'
import { closestKey } from './suggest.js'

type Issue = z.core.$ZodIssue

/** `a.b.c`, or `(top level)` for the document itself. */
export function keyPath (path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.')
}

function valueAt (doc: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = doc
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

/** A short description of a YAML value as the user wrote it. */
export function describeFound (value: unknown): string {
  if (value === undefined) return 'nothing (the key is missing)'
  if (value === null) return 'an empty value (null)'
  if (typeof value === 'string') return JSON.stringify(value)
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  return String(value)
}

function knownKeysAt (path: ReadonlyArray<PropertyKey>): readonly string[] {
  if (path.length === 0) return knownKeys()['']
  if (path.length === 2 && path[0] === 'alert_thresholds') return knownKeys()['alert_thresholds.*']
  return knownKeys()[path.map(String).join('.')] ?? []
}

/**
 * `file:line` for the key at `path` (src/config/positions.ts), or for its nearest
 * ancestor written in the file (a missing key is reported where its mapping starts).
 */
function at (where: string, keyLinesOf: ReadonlyMap<string, number> | undefined, path: ReadonlyArray<PropertyKey>): string {
  if (keyLinesOf === undefined) return where
  for (let n = path.length; n > 0; n--) {
    const line = keyLinesOf.get(path.slice(0, n).map(String).join('.'))
    if (line !== undefined) return `${where}:${line}`
  }
  return where
}

/**
 * One line per issue, each naming `where` (the file), the line the key is on when
 * `keyLinesOf` knows it, and the key path.
 */
export function issueMessages (where: string, doc: unknown, issues: readonly Issue[], keyLinesOf?: ReadonlyMap<string, number>): string[] {
  const lines: string[] = []
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(issue.path)
      for (const key of issue.keys) {
        const full = keyPath([...issue.path, key])
        const guess = closestKey(key, known)
        const hint = guess !== undefined ? ` (did you mean "${guess}"?)` : ''
        lines.push(`${at(where, keyLinesOf, [...issue.path, key])}: unknown key ${full}${hint}; expected one of: ${known.join(', ')}`)
      }
      continue
    }
    const found = describeFound(valueAt(doc, issue.path))
    lines.push(`${at(where, keyLinesOf, issue.path)}: key ${keyPath(issue.path)}: expected ${issue.message}, found ${found}`)
  }
  return lines
}
