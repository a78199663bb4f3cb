// The transport's own work, in this thread, without pino's worker plumbing: for
// `node --cpu-prof` (a profile of pino's worker thread is lost when process.exit()
// ends it) and for quick A/B checks of the transport core.
//
//   node bench/profile-transport.js [count=100000] [options JSON, e.g. '{"signers":1}']
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile-transport.js 100000 '{"signers":2}'
//
// The pino lines are produced first (not timed), then fed in 64 KiB chunks, as
// thread-stream hands them to the worker. Signing threads, if any, write their own
// .cpuprofile files next to this thread's.
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import transport from '../dist/transport/worker.js'
import { generateKeyPairPem } from '../dist/format/keys.js'

const count = Number(process.argv[2] ?? 100_000)
const extra = process.argv[3] ? JSON.parse(process.argv[3]) : {}
const CHUNK = 64 * 1024

const dir = mkdtempSync(join(tmpdir(), 'pac-profile-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
mkdirSync(join(dir, 'keys'), { mode: 0o700 })
const keyPath = join(dir, 'keys/k.key')
writeFileSync(keyPath, generateKeyPairPem().privatePem, { mode: 0o600 })

const lines = []
const logger = pino({}, { write (s) { lines.push(s) } })
for (let i = 0; i < count; i++) logger.info({ i, event: 'code_execution', user: 'ada' }, 'record')

const start = performance.now()
const stream = await transport({ destination: join(dir, 'logs/audit.log'), privateKeyPath: keyPath, ...extra })
let chunk = ''
for (const line of lines) {
  chunk += line
  if (chunk.length > CHUNK) {
    if (!stream.write(chunk)) await once(stream, 'drain')
    chunk = ''
  }
}
stream.end(chunk)
await once(stream, 'close')
const ms = performance.now() - start
const usage = process.resourceUsage()
console.log(JSON.stringify({ count, options: extra, ms: Math.round(ms), perSec: Math.round(count / ms * 1000), cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000) }))
