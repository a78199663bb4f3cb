/**
 * The pipeline stage end to end: real pino.transport pipelines with real worker
 * threads ([stage, pino/file]), read back by `audit-chain verify -` from standard
 * input in a child process, as an auditor would.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import pino from 'pino'
import { auditChainStage, stageTarget } from '../src/stage/step.js'
import { closeAuditTransport } from '../src/transport/close.js'
import { transportTarget } from '../src/transport/spawn.js'
import { hasCode } from '../src/errors.js'
import { outputOf, readRecords, runInstalledApp, sandbox, ROOT, type Sandbox } from './helpers.js'

const CLI = join(ROOT, 'dist/cli/main.js')

interface VerifyRun { code: number | null, report: any, stderr: string }

/** `audit-chain verify - --key PUB --json [extra]` with `file` as its standard input. */
async function verifyStdin (file: string, box: Sandbox, extra: string[] = []): Promise<VerifyRun> {
  const stdin = openSync(file, 'r')
  try {
    const child = spawn(process.execPath, [CLI, 'verify', '-', '--key', box.pubPath, '--json', ...extra], { stdio: [stdin, 'pipe', 'pipe'] })
    const { code, stdout, stderr } = await outputOf(child)
    return { code, report: stdout.length > 0 ? JSON.parse(stdout) : undefined, stderr }
  } finally {
    closeSync(stdin)
  }
}

/** `out` holds `n` records between a chain.open and the seal, and verifies from stdin; returns them. */
async function assertSealedAndVerifies (out: string, box: Sandbox, n: number): Promise<Array<Record<string, any>>> {
  const records = readRecords(out)
  assert.equal(records.length, n + 2)
  assert.equal(records.at(-1)?.event, 'chain.close')
  const run = await verifyStdin(out, box)
  assert.equal(run.code, 0, run.stderr + JSON.stringify(run.report?.problems))
  assert.equal(run.report.records, n + 2)
  return records
}

/** A pipeline: the stage, then pino/file writing to `out`. */
function stageToFile (stageOptions: Record<string, unknown>, out: string): ReturnType<typeof pino.transport> {
  return pino.transport({ pipeline: [auditChainStage(stageOptions), { target: 'pino/file', options: { destination: out } }] })
}

const ODD_LINES = [
  'plain text, not JSON',
  '{}',
  '{"msg":"has its own chain","chain":{"mine":true}}',
  '[1,2,3]'
]

test('[stage, pino/file]: every line becomes a v1 record, sealed, and the output verifies from stdin', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const out = join(box.dir, 'out.log')
  const head = join(box.dir, 'stage.head.json')
  const transport = stageToFile({ privateKeyPath: box.keyPath, signers: 1, headFile: head }, out)
  const logger = pino(transport)
  const logged = 200
  for (let i = 0; i < logged; i++) {
    logger.info({ i, event: 'code_execution' }, 'record')
    if (i % 50 === 0) transport.write(ODD_LINES[(i / 50) % ODD_LINES.length] + '\n')
  }
  const n = logged + 4
  await closeAuditTransport(transport)

  const records = readRecords(out)
  assert.equal(records.length, n + 2)
  assert.equal(records[0].event, 'chain.open')
  assert.equal(records.at(-1)?.event, 'chain.close')
  assert.equal(records.at(-1)?.records, n + 2)
  assert.equal(records.at(-1)?.chainId, records[0].chainId)
  assert.deepEqual(records.map((r) => r.chain.seq), Array.from({ length: n + 2 }, (_, i) => i))
  assert.deepEqual(records.filter((r) => r.msg === 'record').map((r) => r.i), Array.from({ length: logged }, (_, i) => i))
  // The odd lines, as the file transport keeps them (FORMAT.md §3).
  assert.equal(records[1].i, 0)
  assert.equal(records[2].wrapped, 'not-json')
  assert.deepEqual(Object.keys(records.find((r) => Object.keys(r).length === 1) ?? {}), ['chain'])
  const raw = readFileSync(out, 'utf8').split('\n')
  assert.ok(raw.some((l) => l.startsWith('{"msg":"has its own chain","chain":{"mine":true},"chain":{"v":1,')))
  assert.ok(records.some((r) => r.wrapped === 'not-object' && r.line === '[1,2,3]'))

  // The head file names the seal.
  const headDoc = JSON.parse(readFileSync(head, 'utf8'))
  assert.equal(headDoc.chainId, records[0].chainId)
  assert.equal(headDoc.seq, n + 1)
  assert.equal(headDoc.hash, records.at(-1)?.chain.hash)

  const run = await verifyStdin(out, box, ['--head', head, '--require-seal'])
  assert.equal(run.code, 0, run.stderr + JSON.stringify(run.report?.problems))
  assert.equal(run.report.ok, true)
  assert.equal(run.report.records, n + 2)
  assert.deepEqual(run.report.warnings, [])
})

test('[stage, pino/file] with signers: 2 and thousands of records: in seq order, none lost, verifies', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const out = join(box.dir, 'out.log')
  const transport = stageToFile({ privateKeyPath: box.keyPath, signers: 2 }, out)
  const logger = pino(transport)
  const n = 5000
  for (let i = 0; i < n; i++) logger.info({ i, user: 'ada' }, 'record')
  await closeAuditTransport(transport)

  const records = await assertSealedAndVerifies(out, box, n)
  assert.deepEqual(records.map((r) => r.chain.seq), Array.from({ length: n + 2 }, (_, i) => i))
  assert.deepEqual(records.slice(1, -1).map((r) => r.i), Array.from({ length: n }, (_, i) => i))
})

test('one changed line of the stage\'s output makes verify - exit 1', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const out = join(box.dir, 'out.log')
  const transport = stageToFile({ privateKeyPath: box.keyPath, signers: 1 }, out)
  const logger = pino(transport)
  for (let i = 0; i < 20; i++) logger.info({ i, amount: 100 }, 'payment')
  await closeAuditTransport(transport)
  assert.equal((await verifyStdin(out, box)).code, 0)

  const lines = readFileSync(out, 'utf8').split('\n')
  assert.ok(lines[10].includes('"amount":100'))
  lines[10] = lines[10].replace('"amount":100', '"amount":900')
  const tampered = join(box.dir, 'tampered.log')
  writeFileSync(tampered, lines.join('\n'))
  const run = await verifyStdin(tampered, box)
  assert.equal(run.code, 1)
  assert.equal(run.report.ok, false)
  assert.deepEqual(run.report.problems.map((p: { kind: string, seq: number }) => [p.kind, p.seq]), [['modified', 10]])
})

test('logger.flush() calls back once every record logged before it is in the next step\'s file', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const out = join(box.dir, 'out.log')
  const transport = stageToFile({ privateKeyPath: box.keyPath, signers: 2 }, out)
  const logger = pino(transport)
  for (let i = 0; i < 2000; i++) logger.info({ i }, 'flush me')
  await new Promise<void>((resolve, reject) => logger.flush((err) => { err ? reject(err) : resolve() }))
  const records = readRecords(out)
  assert.equal(records.length, 2001) // chain.open + 2000, no seal yet
  assert.equal(records.at(-1)?.i, 1999)
  await closeAuditTransport(transport)
  assert.equal(readRecords(out).at(-1)?.event, 'chain.close')
})

test('bad options are clear errors in the caller\'s thread; through a plain target, the same error reaches the app', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const attempt = (options: Record<string, unknown>): unknown => auditChainStage(options as never)
  assert.throws(() => attempt({}), (err: Error) => hasCode(err, 'PAC_BAD_OPTION') && err.message.includes('privateKeyPath'))
  assert.throws(() => attempt({ privateKeyPath: box.keyPath, signers: 0 }), (err: Error) =>
    hasCode(err, 'PAC_BAD_OPTION') && err.message.includes('option signers must be a whole number'))
  assert.throws(() => attempt({ privateKeyPath: box.keyPath, headIntervalMs: 'soon' }), (err: Error) =>
    hasCode(err, 'PAC_BAD_OPTION') && err.message.includes('headIntervalMs'))
  assert.throws(() => attempt({ privateKeyPath: box.keyPath, destination: box.log }), (err: Error) =>
    hasCode(err, 'PAC_BAD_OPTION') && err.message.includes('"destination"') && err.message.includes('next step of the pipeline'))
  assert.throws(() => attempt({ epochKeysPath: join(box.dir, 'epochs') }), (err: Error) =>
    hasCode(err, 'PAC_BAD_OPTION') && err.message.includes('"epochKeysPath"') && err.message.includes('use the file transport'))
  assert.throws(() => attempt({ privateKeyPath: join(box.dir, 'nope.key') }), (err: Error) =>
    hasCode(err, 'PAC_KEY_MISSING') && err.message.includes('nope.key'))
  assert.throws(() => attempt({ privateKeyPath: box.keyPath, headFile: join(box.dir, 'no/such/dir/head.json') }), (err: Error) =>
    hasCode(err, 'PAC_DESTINATION') && err.message.includes('headFile'))

  // Given straight to pino, the stage checks the same in the worker: an 'error' event.
  const transport = pino.transport({
    pipeline: [
      { target: stageTarget, options: { privateKeyPath: box.keyPath, signers: 0 } },
      { target: 'pino/file', options: { destination: join(box.dir, 'never.log') } }
    ]
  })
  const [err] = await once(transport, 'error') as [Error]
  assert.match(err.message, /^PAC_BAD_OPTION: option signers must be a whole number/)

  // The stage alone, with no step after it to take its records: said, not a silent stall.
  const alone = pino.transport({ target: stageTarget, options: { privateKeyPath: box.keyPath } })
  pino(alone).info('to nowhere')
  // pino unrefs the worker once it is ready: keep this process up until the error arrives.
  const keepAlive = setTimeout(() => {}, 10_000)
  const [aloneErr] = await once(alone, 'error') as [Error]
  clearTimeout(keepAlive)
  assert.match(aloneErr.message, /^PAC_BAD_OPTION: .*nothing follows it/)
})

test('target: "pino-audit-chain/stage" resolves from a separate app; process.exit() right after logging loses nothing', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const out = join(box.dir, 'shipped.log')
  const n = 10_000
  const { code, stderr } = await runInstalledApp(box.dir, `
    const pino = require('pino')
    const transport = pino.transport({
      pipeline: [
        { target: 'pino-audit-chain/stage', options: ${JSON.stringify({ privateKeyPath: box.keyPath, signers: 2 })} },
        { target: 'pino/file', options: ${JSON.stringify({ destination: out })} }
      ]
    })
    transport.on('error', (err) => { console.error(err.message); process.exit(3) })
    const logger = pino(transport)
    for (let i = 0; i < ${n}; i++) logger.info({ i, event: 'login', user: 'ada' }, 'user logged in')
    process.exit(0)
  `)
  assert.equal(code, 0, stderr)
  await assertSealedAndVerifies(out, box, n)
})

test('the example ships signed lines over TCP with pino-socket, and what arrived verifies', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const child = spawn(process.execPath, [join(ROOT, 'examples/pipeline-stage.js')], { cwd: ROOT, env: { ...process.env, PAC_DEMO_DIR: box.dir }, stdio: ['ignore', 'pipe', 'pipe'] })
  const { code, output } = await outputOf(child)
  assert.equal(code, 0, output)
  assert.match(output, /INTACT: 1006 records in 1 chain/)
  const records = readRecords(join(box.dir, 'logs/pipeline/received.log'))
  assert.equal(records.length, 1006)
  assert.equal(records.at(-1)?.event, 'chain.close')
})

test('three runs of the stage appending to one destination are three chains, verified one after another; a pipeline chain.open copied into a chain is inserted', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const out = join(box.dir, 'out.log')
  for (let run = 0; run < 3; run++) {
    const transport = stageToFile({ privateKeyPath: box.keyPath, signers: 1 }, out)
    const logger = pino(transport)
    for (let i = 0; i < 20; i++) logger.info({ run, i }, 'record')
    await closeAuditTransport(transport)
  }
  const runs = await verifyStdin(out, box, ['--require-seal'])
  assert.equal(runs.code, 0, JSON.stringify(runs.report?.problems))
  assert.equal(runs.report.chains.length, 3)
  assert.deepEqual(runs.report.chains.map((c: { records: number, sealed: boolean }) => [c.records, c.sealed]), [[22, true], [22, true], [22, true]])
  const opens = readRecords(out).filter((r) => r.event === 'chain.open')
  assert.equal(new Set(opens.map((r) => r.chainId)).size, 3)
  assert.ok(opens.every((r) => r.pipeline === true))

  // The third run's chain.open copied into the middle of the first chain links to nothing there.
  const lines = readFileSync(out, 'utf8').split('\n')
  const thirdOpen = lines.filter((l) => l.includes('"event":"chain.open"'))[2]
  lines.splice(5, 0, thirdOpen)
  const tampered = join(box.dir, 'tampered.log')
  writeFileSync(tampered, lines.join('\n'))
  const copied = await verifyStdin(tampered, box)
  assert.equal(copied.code, 1)
  assert.deepEqual(copied.report.problems.map((p: { kind: string, line: number }) => `${p.kind}@${p.line}`), ['inserted@6'])
})

test('the file transport as the last step of a pino pipeline is refused with an error that points to the stage, and leaves no lock', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  const transport = pino.transport({
    pipeline: [
      { target: join(ROOT, 'test/fixtures/upper-transform.mjs') },
      { target: transportTarget, options: { destination: box.log, privateKeyPath: box.keyPath } }
    ]
  })
  pino(transport).info('never signed')
  const keepAlive = setTimeout(() => {}, 60_000) // only keeps the loop alive until the error; a loaded machine starts workers slowly
  const [err] = await once(transport, 'error') as [Error]
  clearTimeout(keepAlive)
  assert.match(err.message, /^PAC_BAD_OPTION: the file transport \(target "pino-audit-chain"\) cannot be a step of a pino pipeline\. .*pino-audit-chain\/stage/)
  for (let i = 0; i < 100 && existsSync(`${box.log}.lock`); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(existsSync(`${box.log}.lock`), false, 'the lock is released')
})
