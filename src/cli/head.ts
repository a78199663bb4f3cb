/**
 * `audit-chain head PATH`: the signed head of a log (FORMAT.md §6), printed byte for
 * byte as the writer wrote it, so a cron job can ship it off the host and a verifier
 * can later check the log against it (`verify --head`). docs/verifying.md "Anchoring".
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AuditChainError } from '../errors.js'
import { checkHead, parseHead, type ChainHead } from '../format/head.js'
import { loadVerifyKey, type VerifyKey } from '../format/keys.js'
import { loadCerts } from '../verify/certs.js'
import { printable } from '../verify/index.js'
import { isCanonicalSig } from '../verify/record-check.js'
import { statOrThrow } from '../verify/inputs.js'
import { UsageError } from './usage-error.js'

/** The suffix the transport gives a head file: `<destination>.head.json` (src/transport/options.ts). */
const HEAD_SUFFIX = '.head.json'
/** A head is ~300 bytes; a larger file given by another name is not read whole to find out. */
const MAX_HEAD_BYTES = 64 * 1024

/** One head file, as read and checked. */
export interface HeadReading {
  file: string
  /** The file's text, exactly (a head the writer wrote is one line ending in `\n`). */
  text: string
  ok: boolean
  head?: ChainHead
  /** `valid`: checked with a key given; `unchecked`: no key was given (or the head's form is wrong). */
  signature: 'valid' | 'unchecked' | 'invalid'
  /** Why the head cannot be trusted, when `ok` is false. */
  problem?: string
}


/**
 * The head files PATH stands for: a directory's `*.head.json` files (in name order);
 * a `*.head.json` file; a log file's `<log>.head.json`; or a head file kept under
 * another name (the transport's `headFile` option). Throws `PAC_INPUT` when there is none.
 */
export function headFilesOf (path: string): string[] {
  const stats = statOrThrow(path)
  if (stats.isDirectory()) {
    let names: string[]
    try {
      names = readdirSync(path).sort()
    } catch (err) {
      throw new AuditChainError('PAC_INPUT', `directory ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    const found = names.filter((n) => n.endsWith(HEAD_SUFFIX) && !n.startsWith('.')).map((n) => join(path, n)).filter((f) => statOrThrow(f).isFile())
    if (found.length === 0) throw new AuditChainError('PAC_INPUT', `no head file (*${HEAD_SUFFIX}) in directory ${path}: the transport writes <log>${HEAD_SUFFIX} beside its log unless its headFile option says otherwise`)
    return found
  }
  if (path.endsWith(HEAD_SUFFIX)) return [path]
  const beside = `${path}${HEAD_SUFFIX}`
  if (existsSync(beside)) return [beside]
  if (stats.size <= MAX_HEAD_BYTES && parseHead(readText(path)).ok) return [path]
  throw new AuditChainError('PAC_INPUT', `${path} is not a head file, and ${beside} does not exist: give the head file, the log file it was written beside, or their directory`)
}

function readText (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new AuditChainError('PAC_INPUT', `head file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/**
 * Read and check one head file: it must be one line in the v1 head form, and, with
 * a keyring, signed by one of its keys in the canonical encoding (as `verify --head`
 * requires).
 */
export function readHead (file: string, keyring: ReadonlyMap<string, VerifyKey> | undefined): HeadReading {
  const text = readText(file)
  const bad = (problem: string, signature: HeadReading['signature'], head?: ChainHead): HeadReading =>
    ({ file, text, ok: false, ...(head !== undefined ? { head } : {}), signature, problem })
  if (text.replace(/\n$/, '').includes('\n')) return bad('it is not one line, as the writer writes a head file', 'unchecked')
  const parsed = parseHead(text)
  if (!parsed.ok) return bad(parsed.detail, 'unchecked')
  if (keyring === undefined) return { file, text, ok: true, head: parsed.head, signature: 'unchecked' }
  const checked = checkHead(text, keyring)
  if (!checked.ok) return bad(checked.reason === 'unknown-key' ? `${checked.detail} (--key)` : checked.detail, 'invalid', parsed.head)
  if (!isCanonicalSig(checked.head.sig)) return bad('its signature is not in the one base64url form the format allows: the file was altered', 'invalid', parsed.head)
  return { file, text, ok: true, head: checked.head, signature: 'valid' }
}

/** The line to ship: the file's bytes, with a final newline if it lacks one (so `>>` appends whole lines). */
export function shippedLine (reading: HeadReading): string {
  return reading.text.endsWith('\n') ? reading.text : `${reading.text}\n`
}

/** The options of `head` as the command line gives them (main.ts declares them). */
export interface HeadCliOptions {
  key?: string[]
  master?: string[]
  certs?: string[]
  json?: boolean
}

/** The keyring to check heads with: the keys given, and the epoch keys the master keys certify. */
function keyringOf (keyPaths: string[], masterPaths: string[], certPaths: string[]): Map<string, VerifyKey> {
  const keyring = new Map<string, VerifyKey>()
  for (const path of keyPaths) {
    const key = loadVerifyKey(path)
    keyring.set(key.kid, key)
  }
  const masters = new Map(masterPaths.map((p) => loadVerifyKey(p)).map((k) => [k.kid, k]))
  const certProblems: string[] = []
  for (const key of loadCerts(certPaths, masters, (f) => { certProblems.push(`${f.file}:${f.line ?? 0}: ${f.message}`) })) keyring.set(key.kid, key)
  // A head is only as good as the certificate of its key: say why one is not trusted.
  for (const p of certProblems) process.stderr.write(`audit-chain: ${printable(p)}\n`)
  return keyring
}

/** `audit-chain head PATH`: exit status 0 printed, 1 a head is not valid. */
export function runHead (path: string | undefined, options: HeadCliOptions): number {
  if (path === undefined) throw new UsageError('head needs exactly one PATH: a head file, a log file, or the directory they are in')
  const keyPaths = options.key ?? []
  const masterPaths = options.master ?? []
  const certPaths = options.certs ?? []
  if ((masterPaths.length > 0) !== (certPaths.length > 0)) throw new UsageError('head needs --master and --certs together: epoch keys are trusted through certificates signed by a master key')
  const keyring = keyPaths.length > 0 || masterPaths.length > 0 ? keyringOf(keyPaths, masterPaths, certPaths) : undefined
  const readings = headFilesOf(path).map((file) => readHead(file, keyring))
  const ok = readings.every((r) => r.ok)
  if (options.json === true) {
    const heads = readings.map(({ file, ok, head, signature, problem }) => ({ file, ok, head: head ?? null, signature, ...(problem !== undefined ? { problem } : {}) }))
    process.stdout.write(JSON.stringify({ ok, heads }, null, 2) + '\n')
  } else {
    // Only heads that passed go to stdout: a cron job must not ship one that failed.
    for (const r of readings) {
      if (r.ok) process.stdout.write(shippedLine(r))
      else process.stderr.write(`audit-chain: ${printable(`${r.file}: the head cannot be trusted: ${r.problem ?? 'unknown'}`)}\n`)
    }
  }
  return ok ? 0 : 1
}
