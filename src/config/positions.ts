/**
 * Where each key of a policy file is written: its 1-based line, by dotted key path,
 * so that a message about `rotation.max_size` can point the user at line 12. Read
 * from js-yaml's event stream, which carries source offsets (the loaded value does not).
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
type JsYaml = typeof import('js-yaml')
const yaml = (): JsYaml => require('js-yaml') as JsYaml

type Frame =
  | { kind: 'map', path: string[], key: string | undefined }
  | { kind: 'seq', path: string[], index: number }

/** Offsets of the line starts of `text`, for offset → line by binary search. */
function lineStarts (text: string): number[] {
  const starts = [0]
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  return starts
}

function lineAt (starts: number[], offset: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (starts[mid] <= offset) lo = mid
    else hi = mid - 1
  }
  return lo + 1
}

/**
 * The line of every key (and list item) of the first document in `text`, by dotted
 * path (`alert_thresholds.resource_violation.count`, `files.0`). Empty when the text
 * does not parse: the syntax error is reported with its own line elsewhere.
 */
export function keyLines (text: string): Map<string, number> {
  const lines = new Map<string, number>()
  const js = yaml()
  let events: ReturnType<JsYaml['parseEvents']>
  try {
    events = js.parseEvents(text, {})
  } catch {
    return lines
  }
  const starts = lineStarts(text)
  const stack: Frame[] = []
  let documents = 0

  /** A node starts at `offset`: name its place in the parent, and return its path. */
  const place = (offset: number): string[] | undefined => {
    const parent = stack.at(-1)
    if (parent === undefined) return []
    if (parent.kind === 'seq') {
      const path = [...parent.path, String(parent.index++)]
      if (offset >= 0) lines.set(path.join('.'), lineAt(starts, offset))
      return path
    }
    if (parent.key === undefined) return undefined // this node is a key
    const path = [...parent.path, parent.key]
    parent.key = undefined
    return path
  }

  for (const ev of events) {
    if (ev.type === js.EVENT_ID.DOCUMENT) {
      if (++documents > 1) break
      continue
    }
    if (ev.type === js.EVENT_ID.POP) {
      stack.pop()
      continue
    }
    if (ev.type === js.EVENT_ID.MAPPING || ev.type === js.EVENT_ID.SEQUENCE) {
      // A collection used as a key is not a policy key; give it a name nothing matches.
      const path = place(ev.start) ?? ['?']
      stack.push(ev.type === js.EVENT_ID.MAPPING ? { kind: 'map', path, key: undefined } : { kind: 'seq', path, index: 0 })
      continue
    }
    const offset = ev.type === js.EVENT_ID.SCALAR ? ev.valueStart : ev.anchorStart
    const parent = stack.at(-1)
    if (parent?.kind === 'map' && parent.key === undefined) {
      // A key: the line a person looks for is the one the key is written on.
      parent.key = ev.type === js.EVENT_ID.SCALAR ? js.getScalarValue(text, ev) : '*'
      lines.set([...parent.path, parent.key].join('.'), lineAt(starts, offset))
      continue
    }
    place(offset)
  }
  return lines
}
