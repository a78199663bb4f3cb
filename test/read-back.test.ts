/**
 * Reading the trail back (issue 15): readAuditLog() and `audit-chain show` over a log
 * written by the real transport — 10,000 records across rotated files, signed with
 * epoch keys — return exactly the records each filter selects, vouched for by the
 * verifier; a changed record is never shown as intact, records after a deleted line
 * come back unlinked, and a `show --format json` excerpt verifies on its own.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pino from 'pino'
import { prettyFactory } from 'pino-pretty'
import { prettyOptions } from '../src/pretty.js'
import { auditChainTransport, closeAuditTransport, readAuditLog, type AuditEntry } from '../src/index.js'
import { generateKeyPairPem, signingKeyFromPem } from '../src/format/keys.js'
import { generateEpochs, writeEpochFiles } from '../src/epoch/generate.js'
import { ROOT, sandbox } from './helpers.js'

const CLI = join(ROOT, 'dist/cli/main.js')
const RECORDS = 10_000
const LEVELS = [30, 30, 40, 50] as const

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Written {
  dir: string
  logs: string
  trust: string[]
  /** Each user record as logged, by i. */
  records: Array<{ i: number, event: string, sessionId: string, level: number, exitCode: number, phase: number }>
  /** Times between the three phases of logging. */
  t1: number
  t2: number
}

/** One log for every test: the real transport, rotating at 64 KB, with hour-long epoch keys. */
async function writeLog (): Promise<Written> {
  const sb = sandbox()
  after(sb.cleanup)
  const pem = generateKeyPairPem()
  const master = signingKeyFromPem(pem.privatePem, 'master')
  const masterPub = join(sb.dir, 'keys/master.pub')
  writeFileSync(masterPub, pem.publicPem)
  const files = writeEpochFiles(join(sb.dir, 'keys'), generateEpochs(master, Date.now() - 1000, 3_600_000, 2), master)
  const transport = auditChainTransport({ destination: sb.log, epochKeysPath: files.bundlePath, rotation: { size: '64KB' } })
  const logger = pino({ level: 'trace' }, transport)
  const records: Written['records'] = []
  const times: number[] = []
  for (let phase = 0; phase < 3; phase++) {
    for (let k = 0; k < RECORDS / 4 * (phase === 1 ? 2 : 1); k++) {
      const i = records.length
      const r = { i, event: i % 3 === 0 ? 'code_execution' : i % 3 === 1 ? 'user.login' : 'policy.change', sessionId: `s-${i % 7}`, level: LEVELS[i % 4], exitCode: i % 5, phase }
      records.push(r)
      logger[pino.levels.labels[r.level] as 'info'](
        { event: r.event, i, sessionId: r.sessionId, result: { exitCode: r.exitCode } }, 'record')
      if (k % 500 === 0) await sleep(0)
    }
    await new Promise<void>((resolve) => { logger.flush(() => { resolve() }) })
    await sleep(20)
    times.push(Date.now())
    await sleep(20)
  }
  await closeAuditTransport(transport)
  return { dir: sb.dir, logs: join(sb.dir, 'logs'), trust: ['--master', masterPub, '--certs', files.certsPath], records, t1: times[0], t2: times[1] }
}

const written = writeLog()

function trustOptions (w: Written): { masters: string[], certs: string[] } {
  return { masters: [w.trust[1]], certs: [w.trust[3]] }
}

async function read (paths: string[], w: Written, filter: Parameters<typeof readAuditLog>[1]['filter']): Promise<{ entries: AuditEntry[], ok: boolean | undefined }> {
  const reader = readAuditLog(paths, { ...trustOptions(w), filter })
  const entries: AuditEntry[] = []
  for await (const e of reader) entries.push(e)
  return { entries, ok: reader.report?.ok }
}

function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as NodeJS.ErrnoException & { code: number }).code, stdout, stderr })
    })
  })
}

const iOf = (lines: string): number[] => lines.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l).i)

/** Each filter, as API options and as show arguments, with the records it must select. */
function cases (w: Written): Array<{ name: string, filter: NonNullable<Parameters<typeof readAuditLog>[1]['filter']>, args: string[], expected: number[] }> {
  const pick = (pred: (r: Written['records'][number]) => boolean): number[] => w.records.filter(pred).map((r) => r.i)
  return [
    { name: 'event', filter: { events: ['user.login', 'policy.change'] }, args: ['--event', 'user.login', '--event', 'policy.change'], expected: pick((r) => r.event !== 'code_execution') },
    { name: 'time range', filter: { since: new Date(w.t1).toISOString(), until: new Date(w.t2).toISOString() }, args: ['--since', new Date(w.t1).toISOString(), '--until', new Date(w.t2).toISOString()], expected: pick((r) => r.phase === 1) },
    { name: 'where', filter: { where: { sessionId: 's-3', 'result.exitCode': '2' } }, args: ['--where', 'sessionId=s-3', '--where', 'result.exitCode=2'], expected: pick((r) => r.sessionId === 's-3' && r.exitCode === 2) },
    { name: 'level', filter: { level: 'warn' }, args: ['--level', 'warn'], expected: pick((r) => r.level >= 40) },
    { name: 'all together', filter: { events: ['code_execution'], level: 'error', since: '1h' }, args: ['--event', 'code_execution', '--level', 'error', '--since', '1h'], expected: pick((r) => r.event === 'code_execution' && r.level >= 50) }
  ]
}

test('the log spans rotated files and epoch keys, and everything reads back intact, in chain order, without control records', async () => {
  const w = await written
  assert.ok(readdirSync(w.logs).filter((n) => n.endsWith('.log')).length >= 10, 'rotated into many files')
  const { entries, ok } = await read([w.logs], w, {})
  assert.equal(ok, true)
  assert.deepEqual(entries.map((e) => e.record.i), w.records.map((r) => r.i))
  assert.ok(entries.every((e) => e.status === 'intact'))
  assert.ok(entries.every((e, k) => k === 0 || e.seq > (entries[k - 1] as AuditEntry).seq))
  const first = entries[0] as AuditEntry
  assert.equal(first.record.chain, undefined, 'the record is the body, without its chain member')
  assert.equal(first.line, readFileSync(first.file, 'utf8').split('\n')[first.lineNumber - 1], 'the stored line, exactly')
  const withControl = await read([w.logs], w, { control: true })
  assert.ok(withControl.entries.some((e) => e.record.event === 'file.open') && withControl.entries.some((e) => e.record.event === 'chain.close'))
})

for (const c of [0, 1, 2, 3, 4]) {
  test(`filter ${c + 1}: the API and show return exactly the records it selects`, async () => {
    const w = await written
    const { name, filter, args, expected } = cases(w)[c] as ReturnType<typeof cases>[number]
    assert.ok(expected.length > 0 && expected.length < RECORDS, `${name}: the filter selects some records, not all`)
    const api = await read([w.logs], w, filter)
    assert.deepEqual(api.entries.map((e) => e.record.i), expected, `${name} through readAuditLog`)
    const shown = await cli(['show', w.logs, ...w.trust, ...args, '--format', 'json'])
    assert.equal(shown.code, 0, shown.stderr)
    assert.deepEqual(iOf(shown.stdout), expected, `${name} through show`)
  })
}

test('show --format json prints the stored lines byte for byte; pretty goes through pino-pretty; csv has the --fields columns', async () => {
  const w = await written
  const args = ['show', w.logs, ...w.trust, '--where', 'i=42']
  const json = await cli([...args, '--format', 'json'])
  const file = readdirSync(w.logs).filter((n) => n.endsWith('.log')).map((n) => readFileSync(join(w.logs, n), 'utf8')).join('')
  const line = file.split('\n').find((l) => JSON.parse(l).i === 42) as string
  assert.equal(json.stdout, line + '\n')
  const pretty = await cli([...args, '--format', 'pretty'])
  // The option set of pino-audit-chain/pretty: the record's seq leads its message, and
  // the chain member is not printed.
  assert.equal(pretty.stdout, prettyFactory({ ...prettyOptions, colorize: false })(line))
  assert.match(pretty.stdout, new RegExp(`: #${JSON.parse(line).chain.seq as number} `))
  assert.doesNotMatch(pretty.stdout, /chain:|"sig"/)
  const csv = await cli([...args, '--format', 'csv', '--fields', 'i,event,result.exitCode,result'])
  assert.equal(csv.stdout, 'i,event,result.exitCode,result\n42,code_execution,2,"{""exitCode"":2}"\n')
})

/** A copy of the log's files in a directory of its own, to tamper with. */
function copyOf (w: Written, name: string): string {
  const dir = join(w.dir, name)
  mkdirSync(dir)
  for (const n of readdirSync(w.logs)) if (n.endsWith('.log')) copyFileSync(join(w.logs, n), join(dir, n))
  return dir
}

/** Edit the file holding record `i` of `dir`; returns its name. */
function edit (dir: string, i: number, change: (lines: string[], at: number) => void): string {
  for (const n of readdirSync(dir)) {
    const lines = readFileSync(join(dir, n), 'utf8').split('\n')
    const at = lines.findIndex((l) => l !== '' && JSON.parse(l).i === i)
    if (at < 0) continue
    change(lines, at)
    writeFileSync(join(dir, n), lines.join('\n'))
    return n
  }
  throw new Error(`record ${i} not found`)
}

test('a record whose value was changed is not shown, and is marked invalid with --include-unverified', async () => {
  const w = await written
  const dir = copyOf(w, 'changed')
  edit(dir, 5000, (lines, at) => { lines[at] = (lines[at] as string).replace('"sessionId":"s-2"', '"sessionId":"s-9"') })
  const shown = await cli(['show', dir, ...w.trust, '--where', 'i=5000', '--format', 'json'])
  assert.equal(shown.code, 1)
  assert.equal(shown.stdout, '')
  assert.match(shown.stderr, /modified/)
  const all = await cli(['show', dir, ...w.trust, '--where', 'i=5000', '--format', 'csv', '--fields', 'i,sessionId', '--include-unverified'])
  assert.equal(all.stdout, 'status,i,sessionId\ninvalid,5000,s-9\n')
  const api = await read([dir], w, { where: { i: 4999 } })
  assert.equal(api.entries[0]?.status, 'intact', 'the record before it is intact')
})

test('records after a deleted line come back unlinked; the ones before stay intact', async () => {
  const w = await written
  const dir = copyOf(w, 'deleted')
  edit(dir, 3000, (lines, at) => { lines.splice(at, 1) })
  const { entries, ok } = await read([dir], w, {})
  assert.equal(ok, false)
  assert.equal(entries.find((e) => e.record.i === 3000), undefined)
  assert.ok(entries.filter((e) => (e.record.i as number) < 3000).every((e) => e.status === 'intact'))
  const later = entries.filter((e) => (e.record.i as number) > 3000)
  assert.equal(later.length, RECORDS - 3001)
  assert.ok(later.every((e) => e.status === 'unlinked'))
  const shown = await cli(['show', dir, ...w.trust, '--format', 'json'])
  assert.equal(shown.code, 1)
  assert.deepEqual(iOf(shown.stdout), w.records.filter((r) => r.i < 3000).map((r) => r.i))
})

test('an excerpt of 100 records from show verifies with --excerpt, and one changed byte makes it exit 1', async () => {
  const w = await written
  const shown = await cli(['show', w.logs, ...w.trust, '--where', 'sessionId=s-1', '--until', new Date(w.t1).toISOString(), '--format', 'json'])
  const lines = shown.stdout.split('\n').filter((l) => l !== '').slice(0, 100)
  assert.equal(lines.length, 100)
  const excerpt = join(w.dir, 'excerpt.jsonl')
  writeFileSync(excerpt, lines.join('\n') + '\n')
  const good = await cli(['verify', excerpt, ...w.trust, '--excerpt'])
  assert.equal(good.code, 0, good.stdout)
  assert.match(good.stdout, /100 records authentic \(1 file\); an excerpt proves nothing about records left out/)
  const whole = await cli(['verify', excerpt, ...w.trust])
  assert.equal(whole.code, 1, 'as a whole log, the excerpt is full of gaps')
  const bytes = readFileSync(excerpt)
  const at = bytes.indexOf('"i":') + 4
  bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31
  writeFileSync(excerpt, bytes)
  const bad = await cli(['verify', excerpt, ...w.trust, '--excerpt'])
  assert.equal(bad.code, 1)
  assert.match(bad.stdout, /modified/)
  assert.match(bad.stdout, /99 of 100 records authentic/)
})
