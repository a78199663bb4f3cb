/**
 * How the built `audit-chain` (dist/cli/main.js) answers for itself, run in child
 * processes: each command's help, the version, and usage errors that say what was
 * meant. Help and version go to stdout and exit 0; a usage error is one line on
 * stderr and exit 2 (1 means "problems found" and is never used for bad usage).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { workspace, writeChain } from './fixtures/write-chain.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

function run (args: string[]): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Each command, and an option only its own help names. */
const COMMANDS: Array<[string, string]> = [
  ['init', '[DIR]'],
  ['keygen', '--master'],
  ['verify', '--require-seal'],
  ['show', '--include-unverified'],
  ['report', '--max-records <N>'],
  ['head', '--json'],
  ['epochs', '--interval <DUR>']
]

test('every command has its own help: COMMAND --help, COMMAND -h and help COMMAND print it on stdout and exit 0', () => {
  for (const [command, own] of COMMANDS) {
    for (const args of [[command, '--help'], [command, '-h'], ['help', command]]) {
      const r = run(args)
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stderr, '', args.join(' '))
      assert.ok(r.stdout.startsWith(`Usage: audit-chain ${command} `), `${args.join(' ')}: ${r.stdout.slice(0, 80)}`)
      assert.ok(r.stdout.includes(own), `${args.join(' ')} names ${own}`)
      // Only this command: not the whole program's help.
      assert.equal(r.stdout.includes('Commands in short'), false, `${args.join(' ')} prints only its own help`)
    }
  }
  // Options after the paths, as users type them, still ask for help.
  assert.equal(run(['verify', 'logs', '--key', 'k.pub', '--help']).code, 0)
})

test('verify --help documents its options, the output form and the exit statuses', () => {
  const { stdout } = run(['verify', '--help'])
  for (const option of ['--key <PUB>', '--master <PUB>', '--certs <FILE>', '--head <FILE>', '--state <FILE>', '--recursive', '--threads <N>', '--max-line-bytes <N>', '--excerpt', '--json', '--quiet', '--progress', '--no-progress']) {
    assert.ok(stdout.includes(option), `verify --help names ${option}`)
  }
  assert.match(stdout, /FILE:LINE seq N {2}KIND — MESSAGE/)
  assert.match(stdout, /Exit status: 0 intact, 1 problems found, 2 could not run/)
})

test('--help, -h and help print the program\'s help with every command; no command prints it on stderr and exits 2', () => {
  for (const arg of ['--help', '-h', 'help']) {
    const r = run([arg])
    assert.equal(r.code, 0, arg)
    for (const [command] of COMMANDS) assert.match(r.stdout, new RegExp(`^ {2}audit-chain ${command} `, 'm'), `${arg} lists ${command}`)
  }
  const bare = run([])
  assert.equal(bare.code, 2)
  assert.equal(bare.stdout, '')
  assert.match(bare.stderr, /^Usage: audit-chain /)
})

test('--version and -V print the package version on stdout and exit 0', () => {
  for (const arg of ['--version', '-V']) {
    const r = run([arg])
    assert.equal(r.code, 0)
    assert.equal(r.stdout, `${version}\n`)
    assert.equal(r.stderr, '')
  }
})

test('usage errors are one line on stderr, exit 2, suggest the nearest option or command and name the help to read', () => {
  const cases: Array<[string[], RegExp]> = [
    [['verify', 'logs', '--kye', 'k.pub'], /^audit-chain: unknown option '--kye' \(Did you mean --key\?\) \(see "audit-chain verify --help"\)$/],
    [['show', 'logs', '--key', 'k.pub', '--evnt', 'login'], /unknown option '--evnt' \(Did you mean --event\?\) \(see "audit-chain show --help"\)/],
    [['keygen', '--outt', 'keys'], /unknown option '--outt' \(Did you mean --out\?\)/],
    [['verfy', 'logs'], /^audit-chain: unknown command 'verfy' \(Did you mean verify\?\) \(see "audit-chain --help"\)$/],
    [['verify', 'logs', '--key'], /option '-k, --key <PUB>' argument missing \(see "audit-chain verify --help"\)/],
    [['show', 'logs', '--key', 'k.pub', '--format', 'xml'], /argument 'xml' is invalid\. Allowed choices are pretty, json, csv/],
    [['keygen', 'keys'], /too many arguments for 'keygen'/],
    [['verify', '--key', 'k.pub'], /^audit-chain: verify needs at least one PATH .*\(see "audit-chain verify --help"\)$/],
    [['verify', 'logs', '--key', 'k.pub', '--threads', '0'], /--threads must be a whole number from 1 to 64 \(got "0"\)/]
  ]
  for (const [args, message] of cases) {
    const r = run(args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stdout, '', args.join(' '))
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`)
    assert.match(r.stderr.trim(), message)
  }
})

test('options keep their forms: repeatable options add up, --opt=value and -k work, and "-" is standard input', (t) => {
  const ws = workspace()
  t.after(ws.cleanup)
  const old = ws.key('old')
  const current = ws.key('current')
  // Records signed by the rotated-out key, then by the current one: both keys are needed.
  const first = writeChain(ws.dir, old.key, { name: 'old.log', records: 2 })
  const second = writeChain(ws.dir, current.key, { name: 'current.log', records: 2 })
  const both = run(['verify', first.path, second.path, `--key=${old.pubPath}`, '-k', current.pubPath])
  assert.equal(both.code, 0, both.stdout + both.stderr)
  assert.match(both.stdout, /INTACT: 8 records in 2 chains/)
  const one = run(['verify', first.path, second.path, '--key', old.pubPath])
  assert.equal(one.code, 1, 'with only the first key the second log fails')
  const stdin = spawnSync(process.execPath, [CLI, 'verify', '-', '--key', old.pubPath], { input: readFileSync(first.path), encoding: 'utf8' })
  assert.equal(stdin.status, 0, stdin.stderr)
  assert.match(stdin.stdout, /INTACT: 4 records in 1 chain \(1 file\)/)
})

test('a reader that closes the pipe early (show … | head -1) ends the CLI quietly with the SIGPIPE status, not an EPIPE stack trace', async () => {
  const ws = workspace()
  try {
    const k = ws.key()
    // Far more output than a pipe buffer holds, so the CLI is still writing when the reader goes.
    writeChain(ws.dir, k.key, { name: 'audit.log', records: 20_000 })
    const child = spawn(process.execPath, [CLI, 'show', ws.dir, '--key', k.pubPath, '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    await once(child.stdout, 'data')
    child.stdout.destroy()
    const [code] = await once(child, 'exit') as [number | null]
    assert.equal(code, 141, stderr)
    assert.doesNotMatch(stderr, /EPIPE|at .*\.js:\d+/)
  } finally {
    ws.cleanup()
  }
})
