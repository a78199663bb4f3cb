/** Shared test plumbing: temp dirs, keys, child processes, reading records back. */
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync, symlinkSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { generateKeyPairPem } from '../src/format/keys.js'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const LOG_APP = join(ROOT, 'test/fixtures/log-app.mjs')

export interface Sandbox {
  dir: string
  keyPath: string
  pubPath: string
  kid: string
  log: string
  cleanup: () => void
}

/** A temp dir with a fresh key pair (0600) and a log path inside `logs/`. */
export function sandbox (): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'pac-test-'))
  mkdirSync(join(dir, 'keys'), { mode: 0o700 })
  const { privatePem, publicPem, kid } = generateKeyPairPem()
  const keyPath = join(dir, 'keys/audit-ed25519.key')
  const pubPath = join(dir, 'keys/audit-ed25519.pub')
  writeFileSync(keyPath, privatePem, { mode: 0o600 })
  writeFileSync(pubPath, publicPem)
  return { dir, keyPath, pubPath, kid, log: join(dir, 'logs/audit.log'), cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface AppRun {
  child: ChildProcess
  exit: Promise<{ code: number | null, signal: NodeJS.Signals | null, stderr: string }>
  message: (pred: (m: any) => boolean) => Promise<any>
}

/** Start test/fixtures/log-app.mjs with the given configuration. */
export function startApp (cfg: Record<string, unknown>): AppRun {
  const child = fork(LOG_APP, [JSON.stringify(cfg)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], cwd: ROOT, execArgv: [] })
  let stderr = ''
  child.stderr?.on('data', (d) => { stderr += String(d) })
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stderr }))
  const message = (pred: (m: any) => boolean): Promise<any> => new Promise((resolve, reject) => {
    const onMessage = (m: any): void => { if (pred(m)) { child.off('message', onMessage); resolve(m) } }
    child.on('message', onMessage)
    exit.then((e) => reject(new Error(`app exited (${e.code ?? e.signal}) before the message: ${e.stderr}`)), reject)
  })
  return { child, exit, message }
}

export async function runApp (cfg: Record<string, unknown>): Promise<{ code: number | null, signal: NodeJS.Signals | null, stderr: string }> {
  return await startApp(cfg).exit
}

/**
 * What a child process printed, once it has exited: its stdout, its stderr, and both
 * interleaved in arrival order (`output`, for messages that show everything).
 */
export async function outputOf (child: ChildProcess): Promise<{ code: number | null, stdout: string, stderr: string, output: string }> {
  let stdout = ''
  let stderr = ''
  let output = ''
  child.stdout?.on('data', (d) => { stdout += String(d); output += String(d) })
  child.stderr?.on('data', (d) => { stderr += String(d); output += String(d) })
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stdout, stderr, output }
}

/**
 * Run `source` as the index.js of a CommonJS app in `dir`/app that has its own
 * node_modules with pino and this package (a link to the repo), as after
 * `npm i pino pino-audit-chain`: package targets resolve through pino's resolver.
 */
export async function runInstalledApp (dir: string, source: string): Promise<{ code: number | null, stderr: string }> {
  const app = join(dir, 'app')
  mkdirSync(join(app, 'node_modules'), { recursive: true })
  symlinkSync(ROOT, join(app, 'node_modules/pino-audit-chain'), 'dir')
  symlinkSync(join(ROOT, 'node_modules/pino'), join(app, 'node_modules/pino'), 'dir')
  writeFileSync(join(app, 'package.json'), '{"name":"some-app","type":"commonjs"}')
  writeFileSync(join(app, 'index.js'), source)
  const child = fork(join(app, 'index.js'), { cwd: app, stdio: 'pipe', execArgv: [] })
  let stderr = ''
  child.stderr?.on('data', (d) => { stderr += String(d) })
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stderr }
}

/** Every line of a log file, parsed as JSON (throws on a line that is not). */
/**
 * Remove a directory a running writer keeps writing into (its head, every few ms):
 * moved away first, so that its path is gone at once, as for `rm -rf` in a shell;
 * removing it in place can race with a new file and fail with ENOTEMPTY.
 */
export function removeDirectory (dir: string): void {
  const gone = `${dir}.removed`
  renameSync(dir, gone)
  rmSync(gone, { recursive: true, force: true, maxRetries: 20, retryDelay: 10 })
}

export function readRecords (path: string): Array<Record<string, any>> {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l))
}

/** mulberry32: a tiny, well-mixed 32-bit PRNG (public domain, Tommy Ettinger), so a failing seeded run can be replayed. */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
