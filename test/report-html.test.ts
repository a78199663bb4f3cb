/**
 * The report page's defences without a browser (issue 17, item 4): the embedded data
 * cannot end its <script> block or form markup, the CSP hashes are those of the
 * inline code the page carries, and the page's bounded parts (the kept records and
 * the timeline) keep what an auditor must see within their budgets.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { embedJson, renderReport } from '../src/report/html.js'
import { PAGE_SCRIPT, PAGE_STYLE } from '../src/report/page.js'
import { RecordKeeper, CONTEXT_RECORDS, type KeptReason } from '../src/report/keep.js'
import { MAX_BUCKETS, MAX_SERIES, OTHER_SERIES, Timeline } from '../src/report/timeline.js'
import type { ReportData } from '../src/report/collect.js'

const HOSTILE = [
  '<script>alert(1)</script>',
  '</script><img src=x onerror=alert(1)>',
  '</SCRIPT ><script>alert(1)</script>',
  '<!--<script>',
  'javascript:alert(1)',
  '&lt;entity&gt; &amp;',
  'line\u2028separator\u2029paragraph',
  '\ud800 lone surrogate',
  '"quote\\backslash'
]

test('embedJson leaves no <, >, & or U+2028/U+2029 in the text, and JSON.parse gives back exactly the value', () => {
  const value = { msg: HOSTILE, nested: { [HOSTILE[1]]: HOSTILE[0] }, n: 1.5, none: null }
  const text = embedJson(value)
  assert.doesNotMatch(text, /[<>&\u2028\u2029]/)
  assert.deepEqual(JSON.parse(text), value)
})

test('the data block cannot end early (no </script, <!-- or <script in it) and the page has only its own two script blocks', () => {
  const page = renderReport({ files: [HOSTILE[0]] } as unknown as ReportData, [embedJson({ json: HOSTILE.join(' '), msg: HOSTILE[1] }), embedJson({ msg: HOSTILE[2] })])
  // The HTML tokenizer ends a script block at the first "</script" (any case): the
  // data block must contain none, nor "<!--" (which changes how it finds the end).
  const start = page.indexOf('<script type="application/json" id="data">') + '<script type="application/json" id="data">'.length
  const end = page.indexOf('</script>', start)
  const block = page.slice(start, end)
  assert.doesNotMatch(block, /<\/script|<!--|<script/i)
  assert.ok(page.slice(end).startsWith(`</script>\n<script>${PAGE_SCRIPT}</script>`))
  assert.equal((page.match(/<script/gi) ?? []).length, 2)
})

test('the CSP allows the inline script and style by their SHA-256 only: no unsafe-inline, no other source', () => {
  const page = renderReport({} as unknown as ReportData)
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)?.[1] ?? ''
  const hash = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`
  assert.equal(csp, `default-src 'none'; script-src ${hash(PAGE_SCRIPT)}; style-src ${hash(PAGE_STYLE)}; img-src data:; base-uri 'none'; form-action 'none'`)
  assert.ok(page.includes(`<script>${PAGE_SCRIPT}</script>`))
  assert.ok(page.includes(`<style>${PAGE_STYLE}</style>`))
  // Page code that builds markup from strings would undo the text-only rule.
  assert.doesNotMatch(PAGE_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\('(href|src|on)/)
})

function keep (keeper: RecordKeeper, n: number, reason: KeptReason): void {
  keeper.add({ n, reason })
}

test('the kept records: every must-see record and those around each record not intact, then an even sample, within the budget', () => {
  const keeper = new RecordKeeper(100)
  for (let n = 0; n < 100_000; n++) {
    const reason: KeptReason = n === 50_000 ? 'not-intact' : n % 10_000 === 7 ? 'alert' : n % 25_000 === 3 ? 'warning' : 'sample'
    keep(keeper, n, reason)
  }
  const { records, sampledOut, priorityLeftOut } = keeper.finish()
  assert.equal(records.length, 100)
  assert.deepEqual(priorityLeftOut, {})
  const ns = records.map((r) => r.n)
  assert.deepEqual(ns, [...ns].sort((a, b) => a - b), 'in reading order')
  for (let k = 0; k < 10; k++) assert.ok(ns.includes(k * 10_000 + 7), `alert ${k * 10_000 + 7} kept`)
  for (let k = 50_000 - CONTEXT_RECORDS; k <= 50_000 + CONTEXT_RECORDS; k++) assert.ok(ns.includes(k), `${k}, at or around the record not intact, kept`)
  assert.equal(records.find((r) => r.n === 50_001)?.reason, 'context')
  assert.deepEqual(records.slice(-CONTEXT_RECORDS).map((r) => [r.n, r.reason]), [[99_997, 'context'], [99_998, 'context'], [99_999, 'context']], 'the last records of the chain')
  assert.equal(sampledOut, 100_000 - 100)
  // The sample spreads over the whole log, not its first 100 records.
  const sample = records.filter((r) => r.reason === 'sample').map((r) => r.n)
  assert.ok(sample[0] < 5_000 && sample[sample.length - 1] > 90_000, `sample spans the log: ${sample[0]}…${sample[sample.length - 1]}`)
})

test('must-see records beyond the budget are counted by reason, not kept', () => {
  const keeper = new RecordKeeper(10)
  for (let n = 0; n < 25; n++) keep(keeper, n, 'warning')
  const { records, priorityLeftOut } = keeper.finish()
  assert.equal(records.length, 10)
  assert.deepEqual(priorityLeftOut, { warning: 15 })
})

test('the timeline keeps at most MAX_BUCKETS buckets over any span, counts every record, and bounds its series', () => {
  const t = new Timeline()
  const start = Date.UTC(2026, 0, 1)
  let total = 0
  for (let i = 0; i < 10_000; i++) {
    // Out of order on purpose: a backdated record must land in the right bucket.
    const time = start + ((i * 7919) % 10_000) * 60_000
    t.add(time, `type-${i % (MAX_SERIES + 10)}`, { alert: i % 100 === 0, warning: false, notIntact: i === 5 })
    total++
  }
  const d = t.data()
  assert.ok(d !== undefined)
  assert.ok(d.alerts.length <= MAX_BUCKETS && d.alerts.length > MAX_BUCKETS / 2, `${d.alerts.length} buckets`)
  assert.equal(d.series.length, MAX_SERIES + 1)
  assert.ok(d.series.some((s) => s.type === OTHER_SERIES))
  assert.equal(d.series.reduce((a, s) => a + s.counts.reduce((x, y) => x + y, 0), 0), total)
  assert.equal(d.alerts.reduce((a, b) => a + b, 0), 100)
  assert.equal(d.notIntact.reduce((a, b) => a + b, 0), 1)
  assert.ok(d.start <= start && d.start + d.widthMs * d.alerts.length > start + 9_999 * 60_000)
})

test('audit-chain report refuses bad options before reading anything, naming the option and the form it needs (exit 2)', async () => {
  const { execFile } = await import('node:child_process')
  const { join } = await import('node:path')
  const { ROOT } = await import('./helpers.js')
  const run = (args: string[]): Promise<{ code: number | null, stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'report', ...args], (err, _out, stderr) => { resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stderr }) })
  })
  const cases: Array<[string[], RegExp]> = [
    [['logs', '--key', 'k.pub'], /report needs --out FILE: where to write the HTML page/],
    [['--key', 'k.pub', '--out', 'r.html'], /report needs at least one PATH/],
    [['logs', '--out', 'r.html'], /report needs --key PUB \(or --master PUB and --certs FILE\)/],
    [['logs', '--key', 'k.pub', '--out', 'r.html', '--max-records', '0'], /--max-records must be a whole number from 1 to 10000000 \(got "0"\)/],
    [['logs', '--key', 'k.pub', '--out', '/nonexistent-dir/r.html'], /PAC_WRITE_FAILED: --out \/nonexistent-dir\/r\.html: the directory \/nonexistent-dir does not exist/],
    [['logs', '--key', 'k.pub', '--out', 'r.html', '--format', 'csv'], /unknown option '--format'/]
  ]
  for (const [args, message] of cases) {
    const r = await run(args)
    assert.equal(r.code, 2, args.join(' '))
    assert.match(r.stderr, message)
  }
})
