// `npm run bench:show`: peak RSS of `audit-chain show` streaming a large log (issue 15:
// under 150 MB for 1 GB). Writes a signed chain of SHOW_BENCH_MB megabytes (default
// 1024) of ~2 KB records, then runs show on it twice — every record to /dev/null as
// json, and a filter that selects few — and prints time and peak RSS of each run.
//
//   npm run bench:show
//   SHOW_BENCH_MB=100 node bench/show-rss.js   # a quick run
//   SHOW_BENCH_RUNS=json node bench/show-rss.js # only the every-record show run
//   SHOW_BENCH_DIR=/tmp/show-1g node bench/show-rss.js # keep the log there and reuse it
//                                                  # on the next run (generating 1 GB takes minutes)
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, closeSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPairPem, signingKeyFromPem } from '../dist/format/keys.js'
import { createChain } from '../dist/transport/chain.js'
import { chainCloseBody, chainOpenBody } from '../dist/format/control.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const MB = Number(process.env.SHOW_BENCH_MB ?? 1024)
const KEEP = process.env.SHOW_BENCH_DIR
const work = KEEP ?? mkdtempSync(join(tmpdir(), 'pac-show-bench-'))
if (!KEEP) process.on('exit', () => rmSync(work, { recursive: true, force: true }))
const log = join(work, 'audit.log')
const pub = join(work, 'keys/bench.pub')
let bytes = 0
if (KEEP && existsSync(join(work, 'complete'))) {
  bytes = statSync(log).size
  console.log(`reusing ${log}: ${(bytes / 1e6).toFixed(0)} MB`)
} else {
  writeLog()
  if (KEEP) writeFileSync(join(work, 'complete'), '')
}

function writeLog () {
  mkdirSync(join(work, 'keys'), { recursive: true, mode: 0o700 })
  const { privatePem, publicPem } = generateKeyPairPem()
  const key = signingKeyFromPem(privatePem, 'bench')
  writeFileSync(pub, publicPem)
  const fd = openSync(log, 'w')
  const chainId = randomBytes(16).toString('hex')
  // The writer's own chain code (dist/transport/chain.js): the same hash, line and links it writes.
  const chain = createChain(key, chainId)
  const appendRecord = (body) => {
    const line = chain.append(body)
    bytes += Buffer.byteLength(line)
    writeSync(fd, line)
  }
  const started = Date.now()
  appendRecord(chainOpenBody(chainId, key.kid, null))
  const filler = 'x'.repeat(1800)
  let i = 0
  while (bytes < MB * 1024 * 1024) {
    appendRecord(`{"level":30,"time":${started + i},"event":"code_execution","i":${i},"sessionId":"s-${i % 1000}","code":"${filler}","msg":"ran"}`)
    i++
  }
  appendRecord(chainCloseBody(chainId, chain.lastSeq + 2))
  closeSync(fd)
  console.log(`wrote ${(bytes / 1e6).toFixed(0)} MB, ${chain.lastSeq + 1} records in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

function run (name, args, command = 'show') {
  const rssOut = join(work, 'rss')
  const t0 = Date.now()
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'bench/report-rss.js'), join(ROOT, 'dist/cli/main.js'), command, log, '--key', pub, ...args],
    { env: { ...process.env, RSS_OUT: rssOut }, stdio: ['ignore', 'ignore', 'pipe'] })
  const seconds = (Date.now() - t0) / 1000
  const rss = Number(readFileSync(rssOut, 'utf8'))
  console.log(`${name.padEnd(44)} exit ${r.status}  ${seconds.toFixed(1)} s  peak RSS ${(rss / 1e6).toFixed(0)} MB  (${(bytes / 1e6 / seconds).toFixed(0)} MB/s)`)
  if (r.status !== 0) console.log(String(r.stderr).slice(0, 2000))
}
const RUNS = (process.env.SHOW_BENCH_RUNS ?? 'verify,json,where').split(',')
if (RUNS.includes('verify')) run('verify (for comparison)', ['--quiet'], 'verify')
if (RUNS.includes('json')) run('show --format json > /dev/null (every record)', ['--format', 'json'])
if (RUNS.includes('where')) run('show --where sessionId=s-7 (one in 1000)', ['--format', 'json', '--where', 'sessionId=s-7'])
