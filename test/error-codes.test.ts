/**
 * Errors a user can see keep their `code` (and name) through auditChainTransport():
 * thrown at start in the caller's thread, and from pino's worker as the stream's
 * 'error' event and as a process warning — although thread-stream's postMessage
 * drops both on the way (src/transport/worker-errors.ts).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { auditChainTransport, transportTarget } from '../src/transport/spawn.js'
import { closeAuditTransport, type TransportStream } from '../src/transport/close.js'
import { keepErrorCodes } from '../src/transport/worker-errors.js'
import { AuditChainError, hasCode } from '../src/errors.js'
import { removeDirectory, sandbox, type Sandbox } from './helpers.js'

type Coded = Error & { code?: string }

async function flushed (logger: pino.Logger): Promise<void> {
  await new Promise<void>((resolve, reject) => { logger.flush((err) => { err != null ? reject(err) : resolve() }) })
}

/** A sealed log of three records whose seal was then edited: no writer may continue it. */
async function tamperedLog (box: Sandbox): Promise<void> {
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, handleSignals: false })
  pino(transport).info('one')
  await closeAuditTransport(transport)
  writeFileSync(box.log, readFileSync(box.log, 'utf8').replace('audit chain sealed', 'audit chain SEALED'))
}

/** The error as a user matches it: by code, by class, by name. */
function assertCoded (err: Coded, code: string): void {
  assert.equal(err.code, code, err.message)
  assert.ok(err instanceof AuditChainError)
  assert.equal(err.name, 'AuditChainError')
  assert.ok(err.message.startsWith(`${code}: `))
  assert.ok(hasCode(err, code as never))
}

test('Node\'s postMessage keeps an Error\'s message but not its code: why the code is also the message\'s first word', async (t) => {
  // The worker's start fails (the tampered tail), reported through pino.transport alone,
  // as with pino.transport({ target: 'pino-audit-chain' }): none of our code in this thread.
  const box = sandbox()
  t.after(box.cleanup)
  await tamperedLog(box)
  const transport = pino.transport({ target: transportTarget, options: { destination: box.log, privateKeyPath: box.keyPath } })
  const [err] = await once(transport, 'error') as [Coded]
  assert.ok(hasCode(err, 'PAC_TAIL_INVALID'), err.message)
  // If this fails, Node now keeps own properties across postMessage, and the plain
  // pino.transport path keeps `code` by itself: say so in the README.
  assert.equal(err.code, undefined)
})

test('a tampered tail found by the worker reaches the app as an error with code PAC_TAIL_INVALID', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  await tamperedLog(box)
  // Thrown at start, in the caller's thread, by auditChainTransport()'s own check:
  assert.throws(() => auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath }), (err: Coded) => {
    assertCoded(err, 'PAC_TAIL_INVALID')
    return true
  })
  // Found by the worker (as when the log changes between that check and the worker's
  // start): the same stream set-up as auditChainTransport()'s, minus the check.
  const transport = pino.transport({ target: transportTarget, options: { destination: box.log, privateKeyPath: box.keyPath } })
  keepErrorCodes(transport)
  pino(transport).info('refused')
  const [err] = await once(transport, 'error') as [Coded]
  assertCoded(err, 'PAC_TAIL_INVALID')
})

test('the log directory removed while writing: the stream\'s error event has code PAC_DESTINATION', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, headIntervalMs: 50 })
  const logger = pino(transport)
  logger.info('before')
  await flushed(logger)
  const failed = once(transport, 'error')
  ;(transport as unknown as { ref: () => void }).ref() // keep this otherwise idle process up until it arrives
  removeDirectory(join(box.dir, 'logs'))
  const [err] = await failed as [Coded]
  assertCoded(err, 'PAC_DESTINATION')
})

test('a full disk: the stream\'s error event has code PAC_WRITE_FAILED', async (t) => {
  const box = sandbox()
  const disk = join(box.dir, 'disk')
  mkdirSync(disk)
  // A tiny tmpfs, so that the disk really fills up (root only, as in CI).
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', disk])
  let transport: TransportStream | undefined
  t.after(async () => {
    if (transport !== undefined) await closeAuditTransport(transport).catch(() => {})
    execFileSync('umount', ['-l', disk])
    box.cleanup()
  })
  transport = auditChainTransport({ destination: join(disk, 'audit.log'), privateKeyPath: box.keyPath, headFile: false })
  const logger = pino(transport)
  const failed = once(transport, 'error')
  // Keep this otherwise idle process up until it arrives (pino unrefs the worker when ready).
  const keepAlive = setInterval(() => {}, 1000)
  for (let i = 0; i < 2000; i++) logger.info({ i, pad: 'x'.repeat(100) }, 'record')
  const [err] = await failed.finally(() => { clearInterval(keepAlive) }) as [Coded]
  assertCoded(err, 'PAC_WRITE_FAILED')
  assert.match(err.message, /ENOSPC/)
})

test('a warning from the worker (the log file deleted while writing) has its code too', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const warnings: Coded[] = []
  const onWarning = (w: Coded): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  const transport = auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath, headIntervalMs: 50 })
  const logger = pino(transport)
  logger.info('before')
  await flushed(logger)
  unlinkSync(box.log)
  for (let i = 0; i < 100 && !existsSync(box.log); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  await closeAuditTransport(transport)
  const replaced = warnings.find((w) => w.message.startsWith('PAC_FILE_REPLACED:'))
  assert.ok(replaced !== undefined, 'the app is warned')
  assertCoded(replaced, 'PAC_FILE_REPLACED')
})
