// One app process of the collector example, written as your app would be: plain pino,
// whose transport is a pipeline of two steps in pino's worker thread:
//
//   pino-audit-chain/stage   chains and signs every line (a chain of its own per process)
//   pino-socket              ships the signed lines over TCP to the collector
//
// (createAuditLogger writes its own signed file; to ship records through a collector,
// give your pino logger this pipeline instead.)
//
// Run by run.js as: node app.js '{"name":"app-1","port":PORT,"privateKeyPath":KEY,"events":300}'
// When run with an IPC channel, it says {ready} once its pipeline is up, starts logging
// on {go} (so that the apps of the example send at the same time), and reports
// {sent: N}, the number of records its chain holds, after its transport has closed.
import pino from 'pino'
import { setTimeout as sleep } from 'node:timers/promises'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { auditChainStage, closeAuditTransport } from 'pino-audit-chain'

/** The pipeline: stage first, then the step that delivers (here TCP to the collector). */
export function auditPipeline ({ privateKeyPath, port, address = '127.0.0.1' }) {
  return [
    auditChainStage({ privateKeyPath }),
    { target: 'pino-socket', options: { mode: 'tcp', address, port } }
  ]
}

// A long, non-ASCII captured output: records of 10+ KB with multi-byte UTF-8 must
// reach the file unchanged (an 8 KB collector limit or an escape would break them).
const OUTPUT = 'Grüße, Zoë ✓ 日本語のテキスト 🚀\n'.repeat(400)

/** The events app `name` logs, as [level, object, msg]: logins, code runs, one big output now and then. */
export function auditEvents (name, count) {
  const events = []
  for (let i = 0; i < count; i++) {
    if (i === 0) events.push(['info', { event: 'user.login', user: 'zoë', method: 'sso' }, 'user logged in'])
    else if (i % 50 === 7) events.push(['warn', { event: 'code_execution', run: i, exitCode: 1, stdout: OUTPUT }, 'code failed'])
    else events.push(['info', { event: 'code_execution', run: i, exitCode: 0, container: `${name}-c${i % 5}` }, 'code ran'])
  }
  return events
}

/**
 * Log `count` events through `transport`, one every few ms (a service's steady trickle,
 * which lets the collector interleave the apps), then close it: the stage seals the
 * chain (chain.close) and pino-socket ends the connection. Returns the records sent:
 * chain.open, the events, chain.close.
 */
export async function logAndClose (transport, name, count, { pauseMs = 2 } = {}) {
  const logger = pino({ name }, transport)
  for (const [level, obj, msg] of auditEvents(name, count)) {
    logger[level](obj, msg)
    await sleep(pauseMs)
  }
  await closeAuditTransport(transport)
  return count + 2
}

/**
 * The app's life: start the pipeline `steps`, log `config.events` events, close. With an
 * IPC channel it waits for {go} before logging and reports {sent} at the end.
 */
export async function runApp (config, steps = auditPipeline(config)) {
  const transport = pino.transport({ pipeline: steps })
  transport.on('error', (err) => {
    console.error(`${config.name}: audit pipeline failed: ${err.message}`)
    process.exit(1)
  })
  if (process.send !== undefined) {
    await once(transport, 'ready')
    process.send({ ready: true })
    await once(process, 'message')
  }
  const sent = await logAndClose(transport, config.name, config.events)
  if (process.send !== undefined) process.send({ sent })
  else console.log(`${config.name}: sent ${sent} records`)
  process.disconnect?.()
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runApp(JSON.parse(process.argv[2] ?? '{}'))
