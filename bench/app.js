// A pino app, run as a child process by bench/run.js. One JSON argument:
//   { target: 'pino-file' | 'audit', destination, key?, epochKeys?, signers?, count, after: 'return' | 'exit',
//     pace?: { burst, everyMs } }
// It logs `count` records once the transport is ready, then ends (naturally or with
// process.exit()), and as the very last thing prints one JSON line on stdout:
//   { loopMs, perCallUs, exitDrainMs?, maxRssKB, cpuUserMs, cpuSystemMs }
// loopMs is the main (producer) thread's time inside logger calls; with `pace`, only
// the bursts count, not the waits between them.
import { writeSync } from 'node:fs'
import pino from 'pino'

const cfg = JSON.parse(process.argv[2])

let transport
if (cfg.target === 'pino-file') {
  transport = pino.transport({ target: 'pino/file', options: { destination: cfg.destination, mkdir: true } })
} else {
  const { auditChainTransport } = await import('../dist/index.js')
  const signing = cfg.epochKeys !== undefined ? { epochKeysPath: cfg.epochKeys } : { privateKeyPath: cfg.key }
  const options = { destination: cfg.destination, ...signing, ...(cfg.signers === undefined ? {} : { signers: cfg.signers }) }
  transport = auditChainTransport(options)
}
const logger = pino(transport)
await new Promise((resolve) => transport.once('ready', resolve))

const result = {}
// pino ends its transport in its own 'exit' handler, registered when the transport was
// created; this one runs after it, once every record has been handed over and written.
let exitCalledAt
process.on('exit', () => {
  const usage = process.resourceUsage()
  if (exitCalledAt !== undefined) result.exitDrainMs = Math.round(performance.now() - exitCalledAt)
  result.maxRssKB = usage.maxRSS
  result.cpuUserMs = Math.round(usage.userCPUTime / 1000)
  result.cpuSystemMs = Math.round(usage.systemCPUTime / 1000)
  writeSync(1, JSON.stringify(result) + '\n')
})

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
let loopMs = 0
if (cfg.pace) {
  for (let i = 0; i < cfg.count;) {
    const start = performance.now()
    const end = Math.min(cfg.count, i + cfg.pace.burst)
    for (; i < end; i++) logger.info({ i, event: 'code_execution', user: 'ada' }, 'record')
    loopMs += performance.now() - start
    await pause(cfg.pace.everyMs)
  }
} else {
  const start = performance.now()
  for (let i = 0; i < cfg.count; i++) logger.info({ i, event: 'code_execution', user: 'ada' }, 'record')
  loopMs = performance.now() - start
}
result.loopMs = Math.round(loopMs * 10) / 10
result.perCallUs = Math.round(loopMs / cfg.count * 1000 * 100) / 100

if (cfg.after === 'exit') {
  exitCalledAt = performance.now()
  process.exit(0)
}
