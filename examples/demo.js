// The demo behind `npm start`: an AI assistant's sandbox session is audited with
// createAuditLogger and the shipped policy (config/audit.yaml), then the verifier
// checks the log and writes its HTML report. Exits 0 only when the log verifies intact.
//
// `npm start -- --epochs` runs it with forward-secure epoch keys instead of one key:
// 2-second epochs certified by a master key; the session crosses an epoch boundary,
// the ended epoch's key is erased from the bundle, and the verifier checks the log
// with only the master public key and the certificates.
//
import { rmSync, readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { createAuditLogger, loadAuditConfig } from 'pino-audit-chain'
import { CLI, ROOT, demoPaths, ensureEpochKeys, ensureKeys } from './demo-setup.js'

const EPOCH_SECONDS = 2
const epochMode = process.argv.includes('--epochs')
const paths = await ensureKeys(demoPaths())
const epochs = epochMode ? ensureEpochKeys(paths, EPOCH_SECONDS) : undefined
// A fresh log each run, so the summary below describes this session only.
rmSync(paths.logs, { recursive: true, force: true })

// The shipped policy, pointed at the demo's own key (or epoch key bundle) and log directory.
const policy = loadAuditConfig(join(ROOT, 'config/audit.yaml'))
const config = epochs !== undefined
  ? { ...policy, storageLocation: paths.logs, privateKeyPath: undefined, epochKeysPath: epochs.bundle }
  : { ...policy, storageLocation: paths.logs, privateKeyPath: paths.privateKey }

const alerts = []
const audit = createAuditLogger({
  config,
  onAlert: (alert) => {
    alerts.push(alert)
    console.log(`  ALERT ${alert.threshold}: ${alert.count} in ${alert.window} (records ${alert.triggeredBy.map((id) => id.slice(0, 8)).join(', ')})`)
  }
})
const session = audit.child({ sessionId: 'demo-session-1', user: 'ada' })

console.log(`pino-audit-chain demo — logging a sandbox session to ${join(paths.logs, 'audit.log')}`)

// An event of the app's own, beside the four built-in ones (logEvent).
session.logEvent('session.start', { client: 'web', model: 'assistant-2', sandboxPolicy: 'strict' })
console.log('  session started (a custom event: session.start)')

const containerId = 'sbx-7f3a9c'
session.logContainerCreation({
  containerId,
  image: 'python:3.12-slim',
  limits: { cpus: 1, memoryBytes: 268435456, pids: 64, timeoutMs: 10000 },
  network: 'none',
  readOnlyRoot: true,
  user: 'nobody'
})
console.log(`  container ${containerId} created`)

// Three versions of the user's script: each is assessed, then run; runs after the
// first carry a unified diff against the previous version.
const versions = [
  { code: 'total = sum(range(10))\nprint(total)\n', risk: 'LOW', findings: [], exitCode: 0, stdout: '45\n', stderr: '' },
  {
    code: 'import os\ntotal = sum(range(10))\nprint(total, os.getcwd())\n',
    risk: 'MEDIUM',
    findings: [{ rule: 'B108', severity: 'MEDIUM', message: 'probable insecure usage of temp file/directory', line: 3 }],
    exitCode: 0,
    stdout: '45 /sandbox\n',
    stderr: ''
  },
  {
    code: 'import subprocess\nsubprocess.run("ls /etc", shell=True)\nprint(sum(range(10)))\n',
    risk: 'HIGH',
    findings: [{ rule: 'B602', severity: 'HIGH', message: 'subprocess call with shell=True identified', line: 2 }],
    exitCode: 1,
    stdout: '',
    stderr: 'PermissionError: [Errno 13] Permission denied: \'/etc\'\n'
  }
]
let previousCode
for (const [i, v] of versions.entries()) {
  console.log(`  run ${i + 1}: assessed ${v.risk}, exit ${v.exitCode}${previousCode !== undefined ? ' (with diff)' : ''}`)
  session.logSecurityAssessment({ code: v.code, riskLevel: v.risk, findings: v.findings, scanner: 'bandit', language: 'python', containerId })
  session.logCodeExecution({
    code: v.code,
    previousCode,
    language: 'python',
    containerId,
    result: { exitCode: v.exitCode, stdout: v.stdout, stderr: v.stderr, durationMs: 30 + i * 7 }
  })
  previousCode = v.code
  if (epochs !== undefined && i === 1) {
    // Wait for the next epoch: the transport closes this one, erases its key, and signs on with the next.
    const wait = EPOCH_SECONDS * 1000 - ((Date.now() - epochs.start) % (EPOCH_SECONDS * 1000)) + 50
    console.log(`  (waiting ${wait} ms for the next ${EPOCH_SECONDS}-second epoch)`)
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
}

// A script the scanner blocks outright: assessed, never run.
console.log('  run 4: BLOCKED by the assessment, not executed')
session.logSecurityAssessment({
  code: 'import ctypes\nctypes.CDLL(None).syscall(101)\n',
  riskLevel: 'BLOCKED',
  findings: [{ rule: 'PAC-SYSCALL', severity: 'CRITICAL', message: 'raw syscall through ctypes', line: 2 }],
  scanner: 'bandit',
  language: 'python',
  containerId
})

// A memory hog: the sandbox warns, throttles, then kills — three violations within
// the policy's window (3 in 5m) trip the resource_violation alert.
console.log('  run 5: memory hog; the sandbox warns, throttles, then kills it')
const hog = 'data = []\nwhile True:\n    data.append(bytearray(1 << 20))\n'
session.logCodeExecution({ code: hog, previousCode, language: 'python', containerId, result: { exitCode: 137, signal: 'SIGKILL', stdout: '', stderr: 'Killed\n', durationMs: 812 } })
for (const [action, observed] of [['warned', 230000000], ['throttled', 250000000], ['killed', 300000000]]) {
  session.logResourceViolation({ containerId, resource: 'memory', limit: 268435456, observed, action })
}

await audit.close()

const lines = readFileSync(join(paths.logs, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
const byEvent = {}
for (const r of lines) byEvent[r.event] = (byEvent[r.event] ?? 0) + 1
console.log(`\nlog closed: ${lines.length} records (${Object.entries(byEvent).map(([e, n]) => `${e} ${n}`).join(', ')}); ${alerts.length} alerts raised\n`)

if (epochs !== undefined) {
  const closed = lines.filter((r) => r.event === 'epoch.close').map((r) => r.epoch)
  const erased = JSON.parse(readFileSync(epochs.bundle, 'utf8')).epochs.filter((e) => e.seed === null).length
  // Say which numbers are counts and which are epoch numbers: "closed: 0" read as "none closed".
  const which = closed.length === 0 ? 'no epoch ended during the session' : `${closed.length === 1 ? 'epoch' : 'epochs'} ${closed.join(', ')} closed`
  console.log(`epoch.close records in the log: ${closed.length} (${which}); epoch keys erased from ${epochs.bundle}: ${erased}\n`)
}
// The auditor's side: the CLI, given only public material.
const keyArgs = epochs !== undefined ? ['--master', paths.masterPublicKey, '--certs', epochs.certs] : ['--key', paths.publicKey]
console.log(`verifying with ${epochs !== undefined ? `the master public key ${paths.masterPublicKey} and the certificates ${epochs.certs}` : `the public key ${paths.publicKey}`}:`)
const run = spawnSync(process.execPath, [CLI, 'verify', paths.logs, ...keyArgs], { stdio: 'inherit' })
const intact = run.status === 0
console.log(intact ? '\nthe audit log is INTACT' : '\nthe audit log is NOT intact')

// The same check as one HTML page for auditors who would rather look than read:
// verdict, timeline, alerts and every record, openable offline in any browser.
const reportPath = join(paths.dir, 'report.html')
const report = spawnSync(process.execPath, [CLI, 'report', paths.logs, ...keyArgs, '--out', reportPath], { encoding: 'utf8' })
if (report.status !== (intact ? 0 : 1)) console.error(`audit-chain report failed (${report.status}): ${report.stderr}`)
else console.log(`report for auditors: ${reportPath} (open it in a browser)`)
process.exitCode = intact && report.status === 0 ? 0 : 1
