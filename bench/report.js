// `audit-chain report` at scale (issue 17: a 1,000,000-record log, report writer under
// 150 MB peak RSS, page loaded in Chromium in under 3 s). Writes a signed chain of
// REPORT_BENCH_RECORDS records (default 1,000,000: a day of an assistant's sandbox
// events, with warnings and an alert every 5,000), runs `audit-chain report` on it
// (time, peak RSS, page size), then opens the page in headless Chromium
// (/usr/bin/chromium, through playwright-core) and times it until drawn.
//
//   npm run build && node bench/report.js
//   REPORT_BENCH_RECORDS=100000 node bench/report.js          # a quick run
//   REPORT_BENCH_RECORDS=3000 REPORT_BENCH_TAMPER=1 REPORT_SCREENSHOT=docs/report.png node bench/report.js
//                                                             # the README screenshot: one record changed
//   REPORT_BENCH_DIR=/tmp/pac-1m node bench/report.js          # keep the log there, and reuse it next time
//   REPORT_BENCH_ARGS="--threads 1" REPORT_BENCH_VERIFY=0 ...  # extra report options; skip the verify row
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { generateKeyPairPem, signingKeyFromPem } from '../dist/format/keys.js'
import { createChain } from '../dist/transport/chain.js'
import { chainCloseBody, chainOpenBody } from '../dist/format/control.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const N = Number(process.env.REPORT_BENCH_RECORDS ?? 1_000_000)
const TAMPER = process.env.REPORT_BENCH_TAMPER === '1'
const SCREENSHOT = process.env.REPORT_SCREENSHOT
const KEEP = process.env.REPORT_BENCH_DIR
const work = KEEP ?? mkdtempSync(join(tmpdir(), 'pac-report-bench-'))
if (KEEP === undefined) process.on('exit', () => rmSync(work, { recursive: true, force: true }))
const pub = join(work, 'keys/bench.pub')
const log = join(work, 'logs/audit.log')
if (existsSync(log)) console.log(`reusing ${log}`)
else writeLog()

function writeLog () {
  mkdirSync(join(work, 'keys'), { recursive: true, mode: 0o700 })
  mkdirSync(join(work, 'logs'), { recursive: true })
  const { privatePem, publicPem } = generateKeyPairPem()
  const key = signingKeyFromPem(privatePem, 'bench')
  writeFileSync(pub, publicPem)

  // ---- the log ----
  const fd = openSync(log, 'w')
  const chainId = randomBytes(16).toString('hex')
  let bytes = 0
  let tampered = !TAMPER
  // The writer's own chain code (dist/transport/chain.js): the same hash, line and links it writes.
  const chain = createChain(key, chainId)
  const appendRecord = (body) => {
    let line = chain.append(body)
    // One record changed after signing, as an attacker without the key would.
    if (!tampered && chain.lastSeq >= N / 2 && line.includes('"exitCode":0')) {
      line = line.replace('"exitCode":0', '"exitCode":7')
      tampered = true
    }
    bytes += line.length
    writeSync(fd, line)
  }
  const t0 = Date.now()
  const day = 86_400_000
  const first = t0 - day
  appendRecord(chainOpenBody(chainId, key.kid, null, first))
  for (let i = 0; i < N; i++) {
    // A working day's rhythm: busier in the middle, so the timeline has a shape.
    const time = Math.floor(first + day * (i / N + 0.08 * Math.sin(2 * Math.PI * i / N)))
    const s = `"time":${time},"sessionId":"s-${i % 977}","user":"u-${i % 131}"`
    let body
    if (i % 5000 === 4999) body = `{"level":50,${s},"event":"alert","threshold":"resource_violation","count":3,"window":"5m","msg":"audit alert: resource_violation"}`
    else if (i % 97 === 0) body = `{"level":40,${s},"event":"resource_violation","containerId":"sbx-${i % 300}","resource":"memory","limit":268435456,"observed":${300000000 + i},"action":"killed","msg":"resource limit violated"}`
    else if (i % 10 < 4) body = `{"level":30,${s},"event":"code_execution","containerId":"sbx-${i % 300}","code":"total = sum(range(${i}))\\nprint(total)\\n","result":{"exitCode":0,"stdout":"${i}\\n","durationMs":${i % 90}},"msg":"code executed"}`
    else if (i % 10 < 7) body = `{"level":30,${s},"event":"security_assessment","riskLevel":"${i % 13 === 0 ? 'HIGH' : 'LOW'}","scanner":"bandit","findings":[],"msg":"code assessed"}`
    else if (i % 10 < 8) body = `{"level":30,${s},"event":"container_creation","containerId":"sbx-${i % 300}","image":"python:3.12-slim","network":"none","msg":"container created"}`
    else body = `{"level":30,${s},"event":"session.start","client":"web","model":"assistant-2","msg":"session started"}`
    appendRecord(body)
  }
  appendRecord(chainCloseBody(chainId, chain.lastSeq + 2, first + day))
  closeSync(fd)
  console.log(`wrote ${N} records (${(bytes / 1e6).toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

// ---- the report writer (and verify, for comparison) ----
const page = join(work, 'report.html')
function cli (name, args, stdout = 'pipe') {
  const rssOut = join(work, 'rss')
  const t1 = Date.now()
  const run = spawnSync(process.execPath, ['--import', join(ROOT, 'bench/report-rss.js'), join(ROOT, 'dist/cli/main.js'), ...args, join(work, 'logs'), '--key', pub],
    { env: { ...process.env, RSS_OUT: rssOut }, encoding: 'utf8', stdio: ['ignore', stdout, 'pipe'] })
  const seconds = (Date.now() - t1) / 1000
  if (run.status !== (TAMPER ? 1 : 0)) throw new Error(`audit-chain ${args[0]} exited ${run.status}: ${run.stderr}`)
  const rss = Number(readFileSync(rssOut, 'utf8'))
  console.log(`${name.padEnd(28)} ${seconds.toFixed(1).padStart(6)} s  peak RSS ${(rss / 1e6).toFixed(0)} MB`)
  return run
}
if (process.env.REPORT_BENCH_VERIFY !== '0') {
  cli('verify --quiet (comparison)', ['verify', '--quiet'])
  cli('show --format json (comparison)', ['show', '--format', 'json'], 'ignore')
}
const run = cli('report', ['report', '--out', page, ...(process.env.REPORT_BENCH_ARGS ?? '').split(' ').filter(Boolean)])
console.log(`page ${(statSync(page).size / 1e6).toFixed(1)} MB — ${run.stdout.trim()}`)

// ---- the page in Chromium ----
const profile = mkdtempSync(join(tmpdir(), 'pac-report-bench-chromium-'))
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  viewport: { width: 1200, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
})
try {
  const tab = await browser.newPage()
  const loads = []
  for (let k = 0; k < 3; k++) {
    const t2 = Date.now()
    await tab.goto(pathToFileURL(page).href)
    await tab.waitForSelector('body[data-ready="true"]', { timeout: 60_000 })
    loads.push(Date.now() - t2)
  }
  console.log(`page load in Chromium until drawn: ${loads.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(', ')} (3 loads)`)
  if (SCREENSHOT !== undefined) {
    await tab.screenshot({ path: SCREENSHOT })
    console.log(`screenshot: ${SCREENSHOT}`)
  }
} finally {
  await browser.close()
  rmSync(profile, { recursive: true, force: true })
}
