/**
 * The report page: one HTML file that opens offline. Log content is attacker-controlled
 * (it carries user-supplied code and its output), so it never reaches the page as
 * markup: it travels as JSON inside a non-executable <script type="application/json">
 * block, escaped so that nothing in it can end that block, and the page script draws
 * it with text nodes only. A Content-Security-Policy allows nothing but the page's own
 * inline script and style, by hash, so even a mistake in that rule runs nothing.
 */
import { createHash } from 'node:crypto'
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname, basename, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { ReportData } from './collect.js'
import { PAGE_SCRIPT, PAGE_STYLE } from './page.js'

// The characters that could end a <script> block (`</script`, `<!--`) or read as a
// line end to an old JavaScript parser (U+2028, U+2029): as JSON escapes they mean
// the same to JSON.parse and nothing to the HTML parser. `&` too, so no entity can form.
const UNSAFE_IN_SCRIPT = /[<>&\u2028\u2029]/g

/** JSON text safe to place inside <script type="application/json">. */
export function embedJson (value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_SCRIPT, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** The CSP source of an inline block: its SHA-256, base64 (CSP Level 2 §4.2.4). */
export function cspHash (text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

/** The policy of the page: no network, no plugins, no frames, only its own inline code. */
export function contentSecurityPolicy (): string {
  return [
    "default-src 'none'",
    `script-src ${cspHash(PAGE_SCRIPT)}`,
    `style-src ${cspHash(PAGE_STYLE)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'"
  ].join('; ')
}

/** The page up to the data, and after it: static text of ours only. */
function pageParts (): { head: string, tail: string } {
  const head = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy()}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>audit-chain report</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<noscript><p>This report is drawn by its own inline script; allow JavaScript for this file to read it.</p></noscript>
<main id="app"><p id="loading">Loading the report…</p></main>
<script type="application/json" id="data">`
  const tail = `</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`
  return { head, tail }
}

/** The whole page as one string (for small reports and tests). */
export function renderReport (data: ReportData): string {
  const { head, tail } = pageParts()
  return head + embedJson(data) + tail
}

/**
 * Write the page to `path`, the records one at a time (a 50,000-record page is never
 * one more string in memory), through a temporary file renamed into place, so a
 * reader never opens half a report.
 */
export function writeReport (path: string, data: ReportData): void {
  const { head, tail } = pageParts()
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(tmp, 'wx', 0o644)
  try {
    const { kept, ...rest } = data
    const restJson = embedJson({ ...rest, kept: [] })
    // `"kept":[]` is the last member written: the records go between its brackets.
    const at = restJson.lastIndexOf('"kept":[]') + '"kept":['.length
    writeSync(fd, head + restJson.slice(0, at))
    let chunk = ''
    for (let i = 0; i < kept.length; i++) {
      chunk += (i === 0 ? '' : ',') + embedJson(kept[i])
      if (chunk.length > 1 << 20) { writeSync(fd, chunk); chunk = '' }
    }
    writeSync(fd, chunk + restJson.slice(at) + tail)
    closeSync(fd)
    renameSync(tmp, path)
  } catch (err) {
    try { closeSync(fd) } catch {}
    rmSync(tmp, { force: true })
    throw err
  }
}
