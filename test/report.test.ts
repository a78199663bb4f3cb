/**
 * `audit-chain report` (issue 17) in a real browser: a log written by the real
 * transport, carrying records that try to run script in the auditor's browser, is
 * reported once intact and once with one record changed. Headless Chromium (the OS
 * package, /usr/bin/chromium, installed by .ci/run) opens each page from disk through
 * playwright-core: the verdict, the marked record, a filter, and that nothing from the
 * log ran, loaded or broke the Content-Security-Policy. The test fails, never skips,
 * when Chromium is missing.
 */
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import pino from 'pino'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { auditChainTransport, closeAuditTransport } from '../src/index.js'
import { ROOT, sandbox } from './helpers.js'

const CLI = join(ROOT, 'dist/cli/main.js')
const CHROMIUM = '/usr/bin/chromium'

// What a hostile record carries: each would set window.__pwned if it ever ran.
const INJECTIONS = {
  script: '<script>window.__pwned = "script"</script>',
  breakout: '</script><img src=x onerror="window.__pwned = \'onerror\'">',
  link: 'javascript:window.__pwned = "link"',
  comment: '<!--<script>window.__pwned = "comment"</script>',
  separators: 'line\u2028separator\u2029paragraph',
  proto: '__proto__'
}

const sb = sandbox()
after(sb.cleanup)
let browser: BrowserContext
let profile: string

/** The real transport writes 40 records: a session with hostile content, warnings, an alert. */
async function writeLog (): Promise<void> {
  const transport = auditChainTransport({ destination: sb.log, privateKeyPath: sb.keyPath })
  const logger = pino({ level: 'trace' }, transport)
  for (let i = 0; i < 30; i++) {
    logger.info({ event: 'code_execution', i, code: `print(${i})\n`, result: { exitCode: 0, stdout: `${i}\n` } }, 'ran code')
  }
  logger.info({ event: 'code_execution', i: 30, code: INJECTIONS.script, result: { stdout: INJECTIONS.breakout, stderr: INJECTIONS.comment } }, INJECTIONS.breakout)
  logger.info({ event: INJECTIONS.proto, i: 31, url: INJECTIONS.link, href: INJECTIONS.link }, INJECTIONS.link)
  logger.info({ event: 'code_execution', i: 32, code: INJECTIONS.separators }, INJECTIONS.separators)
  for (let i = 33; i < 36; i++) logger.warn({ event: 'resource_violation', i, resource: 'memory', action: 'killed' }, 'memory limit')
  logger.error({ event: 'alert', i: 36, threshold: 'resource_violation', count: 3 }, 'audit alert')
  for (let i = 37; i < 40; i++) logger.info({ event: 'container_creation', i, containerId: `sbx-${i}` }, 'container up')
  await closeAuditTransport(transport)
}

function runCli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr })
    })
  })
}

interface Opened {
  page: Page
  /** Whatever the page did that a report must never do. */
  errors: string[]
  requests: string[]
}

/** Open a report from disk, watching for script errors, CSP violations and requests. */
async function open (file: string): Promise<Opened> {
  const page = await browser.newPage()
  const errors: string[] = []
  const requests: string[] = []
  page.on('pageerror', (e) => { errors.push(`pageerror: ${e.message}`) })
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`) })
  page.on('request', (r) => { requests.push(r.url()) })
  // Runs before the page's own code (through the DevTools protocol, outside its CSP).
  await page.addInitScript(() => {
    (window as any).__violations = []
    document.addEventListener('securitypolicyviolation', (e) => { (window as any).__violations.push(`${e.violatedDirective} ${e.blockedURI}`) })
  })
  await page.goto(pathToFileURL(file).href)
  try {
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 })
  } catch (err) {
    // A page that never finished drawing: say what broke it, not only that it timed out.
    const violations = await page.evaluate(() => (window as any).__violations).catch(() => 'unknown')
    throw new Error(`the report page did not finish drawing: ${JSON.stringify({ errors, violations })}`, { cause: err })
  }
  return { page, errors, requests }
}

/** Nothing from the log ran, loaded or was blocked on the way. */
async function assertNothingRan (o: Opened, file: string): Promise<void> {
  assert.equal(await o.page.evaluate(() => (window as any).__pwned), undefined, 'no injected script ran')
  assert.deepEqual(await o.page.evaluate(() => (window as any).__violations), [], 'no CSP violation: nothing tried to run or load')
  assert.deepEqual(o.errors, [])
  assert.deepEqual(o.requests, [pathToFileURL(file).href], 'the page loads nothing but itself')
  assert.equal(await o.page.locator('img, iframe, object, embed, a[href]').count(), 0, 'no element from log content that could load or navigate')
}

before(async () => {
  // CI installs Chromium (.ci/run): a missing one is a failure, never a skip.
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it (apt-get install -y chromium), as .ci/run does`)
  profile = mkdtempSync(join(tmpdir(), 'pac-chromium-'))
  await writeLog()
  // A fresh profile each run: nothing cached or allowed from an earlier page.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport: { width: 1200, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
})

after(async () => {
  await browser?.close()
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true })
})

test('an intact log reports INTACT, with its key, its sealed chain, every record and the hostile ones as plain text', async () => {
  const file = join(sb.dir, 'intact.html')
  const run = await runCli(['report', join(sb.dir, 'logs'), '--key', sb.pubPath, '--out', file])
  assert.equal(run.code, 0, run.stderr)
  assert.match(run.stderr, /^INTACT: 42 records in 1 chain/)
  assert.match(run.stdout, /report written to .*intact\.html \(40 of 40 records in full\)/)
  const o = await open(file)
  try {
    assert.equal(await o.page.textContent('#verdict'), 'INTACT')
    assert.match(await o.page.textContent('#verdict-section') ?? '', new RegExp(`key id ${sb.kid}`))
    assert.match(await o.page.textContent('#verdict-section') ?? '', /1 of 1 chain sealed/)
    assert.equal(await o.page.locator('#chains tbody tr').count(), 1)
    assert.match(await o.page.textContent('#chains tbody tr') ?? '', /0–41.*42.*sealed/)
    assert.equal(await o.page.locator('#records tr.rec').count(), 40)
    assert.equal(await o.page.locator('#records tr.rec.bad').count(), 0)
    // The hostile strings are on the page, as the text they are.
    const table = await o.page.textContent('#records') ?? ''
    assert.ok(table.includes(INJECTIONS.breakout), 'the </script><img ...> message is shown as text')
    assert.ok(table.includes(INJECTIONS.link), 'the javascript: link is shown as text')
    assert.ok(table.includes(INJECTIONS.separators), 'U+2028 and U+2029 survive the embedding')
    assert.ok(table.includes(INJECTIONS.proto), 'an event named __proto__ is an event like any other')
    // The timeline marks the alert and the warnings.
    assert.ok(await o.page.locator('#timeline rect').count() > 0)
    assert.ok(await o.page.locator('#timeline text.mark', { hasText: '▲' }).count() >= 1)
    await assertNothingRan(o, file)
  } finally {
    await o.page.close()
  }
})

test('a log with one changed record reports PROBLEMS, lists the finding with file, line and seq, marks the record, filters, runs nothing, and screenshots', async () => {
  const tampered = join(sb.dir, 'tampered')
  const lines = readFileSync(sb.log, 'utf8').split('\n')
  const at = lines.findIndex((l) => l.includes('"i":12,'))
  assert.ok(at > 0)
  lines[at] = lines[at].replace('print(12)', 'print(99)')
  mkdirSync(tampered)
  writeFileSync(join(tampered, 'audit.log'), lines.join('\n'))
  const file = join(sb.dir, 'tampered.html')
  const run = await runCli(['report', tampered, '--key', sb.pubPath, '--out', file])
  assert.equal(run.code, 1, run.stderr)
  assert.match(run.stderr, /^PROBLEMS FOUND: 42 records/)

  const o = await open(file)
  try {
    assert.equal(await o.page.textContent('#verdict'), 'PROBLEMS')
    // The finding names the file, the line and the seq of the changed record.
    const finding = o.page.locator('#findings tbody tr.problem').first()
    const cells = await finding.locator('td').allTextContents()
    assert.equal(cells[1], 'modified')
    assert.equal(cells[2], join(tampered, 'audit.log'))
    assert.equal(cells[3], String(at + 1))
    assert.equal(cells[4], String(at))
    // The changed record is marked in the table, and so is every record after it (unlinked).
    const bad = o.page.locator('#records tr.rec.bad')
    assert.equal(await bad.first().getAttribute('data-status'), 'invalid')
    assert.equal(await bad.first().locator('.status').textContent(), 'INVALID')
    assert.match(await bad.first().textContent() ?? '', new RegExp(`audit\\.log:${at + 1}`))
    assert.equal(await o.page.locator('#records tr.rec[data-status="unlinked"]').count(), 40 - 12 - 1)
    // Its full JSON opens on click, as stored, the changed text included.
    await bad.first().click()
    assert.match(await o.page.locator('#records pre.json').first().textContent() ?? '', /"code": "print\(99\)\\n"/)
    // "show" on the finding narrows the table to that one record.
    await finding.locator('button').click()
    assert.equal(await o.page.locator('#records tr.rec').count(), 1)
    await o.page.click('text=show all records')
    // A filter: resource_violation records only, then text inside a record.
    await o.page.selectOption('#filter-event', 'resource_violation')
    assert.equal(await o.page.locator('#records tr.rec').count(), 3)
    assert.match(await o.page.textContent('#records-count') ?? '', /^3 records match/)
    await o.page.selectOption('#filter-event', '')
    await o.page.fill('#filter-text', 'onerror')
    await o.page.waitForFunction(() => document.querySelectorAll('#records tr.rec').length === 1)
    await o.page.fill('#filter-text', '')
    await o.page.waitForFunction(() => document.querySelectorAll('#records tr.rec').length === 40)
    await o.page.selectOption('#filter-level', '40')
    assert.equal(await o.page.locator('#records tr.rec').count(), 4, 'three warnings and the alert (error)')
    await o.page.selectOption('#filter-level', '')
    await o.page.selectOption('#filter-status', 'not-intact')
    assert.equal(await o.page.locator('#records tr.rec').count(), 28)
    await o.page.selectOption('#filter-status', '')
    // Sorting by seq, descending: the last record first.
    await o.page.click('#records th[data-sort="seq"]')
    await o.page.click('#records th[data-sort="seq"]')
    assert.equal(await o.page.locator('#records tr.rec').first().locator('td').nth(6).textContent(), '40')
    await assertNothingRan(o, file)
    const png = await o.page.screenshot({ path: join(sb.dir, 'report.png') })
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47])
  } finally {
    await o.page.close()
  }
})

test('a page over its record budget keeps every alert, warning and record around a change, and says what it left out', async () => {
  const file = join(sb.dir, 'budget.html')
  const run = await runCli(['report', join(sb.dir, 'tampered'), '--key', sb.pubPath, '--out', file, '--max-records', '12'])
  assert.equal(run.code, 1, run.stderr)
  assert.match(run.stdout, /\(12 of 40 records in full\)/)
  const o = await open(file)
  try {
    assert.equal(await o.page.locator('#records tr.rec').count(), 12)
    assert.match(await o.page.textContent('#records-section .notice') ?? '', /This page carries 12 of the 40 records read \(at most 12\).*Left out: 25 ordinary records and 3 must-see records beyond the limit \(context 3\)/)
    // The changed record, the first record after it, the records around them, the warnings
    // and the alert are all there: the 27 unlinked records after the break are not all
    // must-see, or they would crowd out the alert at the end.
    assert.equal(await o.page.locator('#records tr.rec[data-status="invalid"]').count(), 1)
    assert.equal(await o.page.locator('#records tr.rec', { hasText: 'resource_violation' }).count(), 3)
    assert.equal(await o.page.locator('#records tr.rec', { hasText: 'audit alert' }).count(), 1)
    assert.equal(await o.page.locator('#records tr.rec[data-status="unlinked"]').first().locator('td').first().textContent(), '14', 'the record right after the change (#14) is kept')
    // The counts still cover every record.
    assert.match(await o.page.textContent('#verdict-section') ?? '', /42 records/)
    await assertNothingRan(o, file)
  } finally {
    await o.page.close()
  }
})
