/**
 * The report page: one HTML file that opens offline. Log content is attacker-controlled
 * (it carries user-supplied code and its output), so it never reaches the page as
 * markup: it travels as JSON inside a non-executable <script type="application/json">
 * block, escaped so that nothing in it can end that block, and the page script draws
 * it with text nodes only. A Content-Security-Policy allows nothing but the page's own
 * inline script and style, by hash, so even a mistake in that rule runs nothing.
 */
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { AuditChainError } from '../errors.js'
import type { KeptTexts, ReportData } from './collect.js'
import { embedJson } from './embed.js'
import { PAGE_SCRIPT, PAGE_STYLE } from './page.js'

export { embedJson } from './embed.js'

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

/** The data as JSON, the kept records (already embedded JSON texts) in its `kept` list. */
function* dataChunks (data: ReportData, records: Iterable<string>): Generator<string> {
  const json = embedJson({ ...data, kept: [] })
  // `"kept":[]` is the last member written (and a quote inside a string is escaped, so
  // only the member itself reads so): the records go between its brackets.
  const at = json.lastIndexOf('"kept":[]') + '"kept":['.length
  yield json.slice(0, at)
  let first = true
  for (const text of records) {
    yield first ? text : ',' + text
    first = false
  }
  yield json.slice(at)
}

/** The whole page as one string (for small reports and tests). */
export function renderReport (data: ReportData, records: Iterable<string> = []): string {
  const { head, tail } = pageParts()
  return head + [...dataChunks(data, records)].join('') + tail
}

/**
 * Write the page to `path`, the records a chunk at a time (a 50,000-record page is
 * never one string in memory), through a temporary file renamed into place, so a
 * reader never opens half a report.
 */
export function writeReport (path: string, data: ReportData, records: KeptTexts): void {
  const { head, tail } = pageParts()
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  let fd: number
  try {
    fd = openSync(tmp, 'wx', 0o644)
  } catch (err) {
    throw new AuditChainError('PAC_WRITE_FAILED', `cannot write the report ${path}: its directory ${dirname(path)} cannot be written to (${(err as NodeJS.ErrnoException).code ?? 'error'}); give --out a path in an existing, writable directory`, { cause: err })
  }
  try {
    let chunk = head
    for (const text of dataChunks(data, records.texts())) {
      chunk += text
      if (chunk.length >= 1 << 20) { writeSync(fd, chunk); chunk = '' }
    }
    writeSync(fd, chunk + tail)
    closeSync(fd)
    renameSync(tmp, path)
  } catch (err) {
    try { closeSync(fd) } catch {}
    rmSync(tmp, { force: true })
    throw err
  }
}
