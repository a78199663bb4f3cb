/**
 * The writer never lets the log directory redirect it (DESIGN.md §0): a second user
 * (`runuser -u nobody`) plants symlinks and files in the log directory, and the real
 * transport, in child processes, neither writes through them nor uses them.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { auditChainTransport } from '../src/transport/spawn.js'
import { hasCode } from '../src/errors.js'
import { verify } from '../src/verify/index.js'
import { ROOT, readRecords, runApp, sandbox, startApp, type Sandbox } from './helpers.js'

const NOBODY = 'nobody'
const PRECIOUS = 'precious data the service can write but must never touch\n'

function nobodyUnavailable (): string | undefined {
  if (process.geteuid?.() !== 0) return 'these tests need root, to act as a second user with runuser'
  const probe = spawnSync('runuser', ['-u', NOBODY, '--', 'true'])
  if (probe.error !== undefined || probe.status !== 0) return `runuser -u ${NOBODY} is not available (${probe.error?.message ?? probe.stderr.toString().trim()})`
  return undefined
}

/** Run a command as the other user. */
function asNobody (...cmd: string[]): void {
  execFileSync('runuser', ['-u', NOBODY, '--', ...cmd], { stdio: 'pipe' })
}

/**
 * A log directory others may write to, the way /tmp is (1777: with the sticky bit,
 * accepted), reachable by nobody; and a file of root's, outside it, that the service
 * could write and an attacker would like it to overwrite.
 */
function sharedLogDir (box: Sandbox): { dir: string, log: string, victim: string } {
  chmodSync(box.dir, 0o711)
  const dir = join(box.dir, 'logs')
  mkdirSync(dir)
  chmodSync(dir, 0o1777)
  const victim = join(box.dir, 'victim.txt')
  writeFileSync(victim, PRECIOUS, { mode: 0o644 })
  return { dir, log: join(dir, 'audit.log'), victim }
}

test('a symlink planted at the head file\'s temporary name (the old predictable one) is never written through; one at the head file itself is refused', async (t) => {
  const why = nobodyUnavailable()
  if (why !== undefined) { t.skip(why); return }
  const box = sandbox()
  t.after(box.cleanup)
  const { dir, log, victim } = sharedLogDir(box)
  const head = `${log}.head.json`
  const app = startApp({ destination: log, key: box.keyPath, count: 10, after: 'hang', options: { headIntervalMs: 50 } })
  t.after(() => app.child.kill('SIGKILL'))
  // The name the head's temporary file used to have, for this very process: planted
  // before the first head is written (a local user can watch for new pids).
  asNobody('ln', '-s', victim, join(dir, `.audit.log.head.json.${app.child.pid}.tmp`))
  await app.message((m) => m.flushed === true)
  for (let i = 0; i < 100 && !existsSync(head); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  app.child.kill('SIGTERM')
  await app.exit
  assert.equal(readFileSync(victim, 'utf8'), PRECIOUS, 'the file the link points to is untouched')
  assert.ok(lstatSync(head).isFile(), 'the head file is a regular file')
  assert.equal(JSON.parse(readFileSync(head, 'utf8')).chainId, readRecords(log)[0].chainId)
  assert.equal(statSync(head).uid, 0, 'and it is the writer\'s own')
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp') && !n.includes(String(app.child.pid))), [], 'no temporary file left behind')
  // At the head path itself: refused at start, like a link at the log's or lock's name.
  unlinkSync(head)
  asNobody('ln', '-s', victim, head)
  for (const target of ['caller', 'package']) {
    const run = await runApp({ destination: log, key: box.keyPath, count: 5, after: 'return', target })
    assert.notEqual(run.code, 0, `${target}: the app must not start`)
    assert.match(run.stderr, /PAC_INSECURE: the head file .*audit\.log\.head\.json is a symbolic link, which the writer never follows: remove the link/, target)
  }
  assert.equal(readFileSync(victim, 'utf8'), PRECIOUS, 'the file the link points to is still untouched')
})

test('a symlinked destination is refused (PAC_INSECURE) and the file it points to is untouched, in the caller and in the worker', async (t) => {
  const why = nobodyUnavailable()
  if (why !== undefined) { t.skip(why); return }
  const box = sandbox()
  t.after(box.cleanup)
  const { log, victim } = sharedLogDir(box)
  asNobody('ln', '-s', victim, log)
  for (const target of ['caller', 'package']) {
    const run = await runApp({ destination: log, key: box.keyPath, count: 5, after: 'return', target })
    assert.notEqual(run.code, 0, `${target}: the app must not start`)
    assert.match(run.stderr, /PAC_INSECURE: the log file .*audit\.log is a symbolic link, which the writer never follows: remove the link/, target)
  }
  assert.equal(readFileSync(victim, 'utf8'), PRECIOUS)
  assert.equal(existsSync(`${log}.lock`), false, 'nothing was created beside it either')
})

test('a log file created by another user is refused, and left as it was', async (t) => {
  const why = nobodyUnavailable()
  if (why !== undefined) { t.skip(why); return }
  const box = sandbox()
  t.after(box.cleanup)
  const { log } = sharedLogDir(box)
  const planted = '{"level":30,"msg":"planted by nobody"}\n'
  asNobody('sh', '-c', `printf '%s' '${planted.trimEnd()}' > ${log} && echo >> ${log} && chmod 666 ${log}`)
  const run = await runApp({ destination: log, key: box.keyPath, count: 5, after: 'return' })
  assert.notEqual(run.code, 0)
  assert.match(run.stderr, /PAC_INSECURE: the log file .*audit\.log is owned by uid \d+, not by this process's user \(uid 0\): another user created it .*Remove it/)
  assert.equal(readFileSync(log, 'utf8'), planted)
  // A lock file of theirs, the same.
  const other = join(box.dir, 'logs/other.log')
  asNobody('touch', `${other}.lock`)
  const locked = await runApp({ destination: other, key: box.keyPath, count: 5, after: 'return', target: 'package' })
  assert.notEqual(locked.code, 0)
  assert.match(locked.stderr, /PAC_INSECURE: the lock file .*other\.log\.lock is owned by uid \d+/)
  assert.equal(existsSync(other), false)
})

test('a log directory others can write to (no sticky bit) or that another user owns is refused with how to fix it; one with the sticky bit (1777) is used', async (t) => {
  const why = nobodyUnavailable()
  if (why !== undefined) { t.skip(why); return }
  const box = sandbox()
  t.after(box.cleanup)
  const dir = join(box.dir, 'open')
  mkdirSync(dir)
  for (const mode of [0o777, 0o770, 0o757]) {
    chmodSync(dir, mode)
    const run = await runApp({ destination: join(dir, 'audit.log'), key: box.keyPath, count: 1, after: 'return', target: 'package' })
    assert.notEqual(run.code, 0)
    assert.match(run.stderr, new RegExp(`PAC_INSECURE: the log directory ${dir} has mode 0${mode.toString(8)}: group or others can write to it .*run "chmod go-w ${dir}"`))
    assert.throws(() => auditChainTransport({ destination: join(dir, 'audit.log'), privateKeyPath: box.keyPath }), (err: Error) => hasCode(err, 'PAC_INSECURE'))
    assert.deepEqual(readdirSync(dir), [], 'nothing was created in it')
  }
  chmodSync(dir, 0o755)
  chownSync(dir, Number(execFileSync('id', ['-u', NOBODY]).toString()), 0)
  assert.throws(() => auditChainTransport({ destination: join(dir, 'audit.log'), privateKeyPath: box.keyPath }), (err: Error) =>
    hasCode(err, 'PAC_INSECURE') && err.message.includes(`the log directory ${dir} is owned by uid`) && err.message.includes(`run "chown 0 ${dir}"`))
  // Sticky, like /tmp: others cannot remove or rename our files, and what they plant is refused.
  chownSync(dir, 0, 0)
  chmodSync(dir, 0o1777)
  const run = await runApp({ destination: join(dir, 'audit.log'), key: box.keyPath, count: 3, after: 'return' })
  assert.equal(run.code, 0, run.stderr)
  const report = await verify([join(dir, 'audit.log')], { keys: [box.pubPath], requireSeal: true })
  assert.equal(report.ok, true, JSON.stringify(report.problems))
})

test('a private key file owned by another user is refused like one with a loose mode', async (t) => {
  const why = nobodyUnavailable()
  if (why !== undefined) { t.skip(why); return }
  const box = sandbox()
  t.after(box.cleanup)
  chownSync(box.keyPath, Number(execFileSync('id', ['-u', NOBODY]).toString()), 0)
  assert.equal(statSync(box.keyPath).mode & 0o777, 0o600)
  const run = await runApp({ destination: box.log, key: box.keyPath, count: 1, after: 'return', target: 'package' })
  assert.notEqual(run.code, 0)
  assert.match(run.stderr, /PAC_KEY_PERMISSIONS: private key file .*audit-ed25519\.key \(option privateKeyPath\) is owned by uid \d+, not by this process's user \(uid 0\).*chown 0/)
  assert.throws(() => auditChainTransport({ destination: box.log, privateKeyPath: box.keyPath }), (err: Error) => hasCode(err, 'PAC_KEY_PERMISSIONS'))
  assert.equal(existsSync(box.log), false, 'nothing was written')
})

test('a destination or a keygen --out under /proc fails at once with a clear error (it used to hang)', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  // Node's recursive mkdir never returns for these: mkdir in /proc says ENOENT.
  const keygen = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'keygen', '--out', '/proc/pac-test/keys'], { encoding: 'utf8', timeout: 20_000 })
  assert.equal(keygen.signal, null, 'keygen returned by itself')
  assert.equal(keygen.status, 2)
  assert.match(keygen.stderr, /PAC_DESTINATION: the key directory \/proc\/pac-test\/keys is on proc, a kernel pseudo-filesystem/)
  for (const destination of ['/proc/pac-test/audit.log', '/proc/self/audit.log']) {
    const run = await runApp({ destination, key: box.keyPath, count: 1, after: 'return' })
    assert.notEqual(run.code, 0)
    assert.match(run.stderr, /PAC_DESTINATION: the (directory of the log file|log directory) \/proc\/(pac-test|self) is on proc, a kernel pseudo-filesystem/)
  }
  // Not a regular file: a device is refused, not written to, and the message says how
  // to sign lines for a stream (issue 13, item 9: /dev/stdout typed out of habit).
  assert.throws(() => auditChainTransport({ destination: '/dev/null', privateKeyPath: box.keyPath }), (err: Error) =>
    hasCode(err, 'PAC_DESTINATION') && err.message.includes('destination /dev/null is a terminal or device') && err.message.includes('pino-audit-chain/stage'))
  for (const destination of ['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']) {
    for (const target of ['caller', 'package']) {
      const run = await runApp({ destination, key: box.keyPath, count: 1, after: 'return', target })
      assert.notEqual(run.code, 0, `${destination} (${target})`)
      assert.match(run.stderr, /PAC_DESTINATION: destination \S+ is (a pipe|a terminal or device|a device path): the file transport keeps a chain in a regular file .*pino-audit-chain\/stage/, `${destination} (${target})`)
    }
  }
  assert.equal(existsSync('/dev/stdout.lock'), false, 'no lock file left beside it')
})
