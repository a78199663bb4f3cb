/**
 * Key files given in the wrong place (issue 13, item 10): what the file is, is said
 * before how it is protected, and a private key on the auditor's side is pointed out.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync } from 'node:fs'
import { join } from 'node:path'
import { auditChainTransport } from '../src/transport/spawn.js'
import { hasCode } from '../src/errors.js'
import { ROOT, runApp, sandbox } from './helpers.js'

test('a public key given as privateKeyPath is called a public key, not told to chmod 600', (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  chmodSync(box.pubPath, 0o644)
  assert.throws(() => auditChainTransport({ destination: box.log, privateKeyPath: box.pubPath }), (err: Error) =>
    hasCode(err, 'PAC_KEY_WRONG_TYPE') && err.message.includes('holds a public key') && err.message.includes('not the .pub one') && !err.message.includes('chmod'))
})

test('verify --key with a private key verifies, and warns that the auditor needs only the public key', async (t) => {
  const box = sandbox()
  t.after(box.cleanup)
  assert.equal((await runApp({ destination: box.log, key: box.keyPath, count: 3, after: 'exit' })).code, 0)
  const run = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'verify', box.log, '--key', box.keyPath], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stdout, /INTACT/)
  assert.match(run.stderr, /PAC_KEY_WRONG_TYPE: public key file .*audit-ed25519\.key holds a private key; verifying needs only the public key/)
  const pub = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'verify', box.log, '--key', box.pubPath], { encoding: 'utf8' })
  assert.equal(pub.stderr, '', 'no warning for the public key')
})
