/**
 * The transport's options: one validator, run in the caller's thread by
 * `auditChainTransport()` and again inside the worker (which cannot trust that
 * the caller went through it).
 */
import { resolve } from 'node:path'
import { availableParallelism } from 'node:os'
import { AuditChainError } from '../errors.js'
import { parseDuration, parseSize } from '../config/units.js'

/**
 * How often the log file is fsynced.
 * - `'off'`: never; the OS writes when it likes. `flush()` and close only hand the
 *   data to the kernel: a crash of the process loses nothing, a power cut may.
 * - `'close'` (default): on `logger.flush()`, before every head-file update, and at
 *   close. Costs one fsync per flush/head interval, not per record.
 * - `'always'`: after every write to the file. Each write waits for the disk;
 *   expect throughput to fall to the disk's sync rate when records arrive one by one.
 * - a number N: like `'close'`, plus an fsync every N milliseconds.
 */
export type FsyncMode = 'off' | 'close' | 'always' | number

/** Options of the `pino-audit-chain` transport (`pino.transport({ target: 'pino-audit-chain', options })`). */
export interface AuditTransportOptions {
  /** The log file; created (mode 0640) if missing. An existing file's chain is continued. */
  destination: string
  /** Path of the Ed25519 private key (PKCS#8 PEM, mode 0600), e.g. from `audit-chain keygen`. */
  privateKeyPath?: string
  /** The private key itself, as PEM text (instead of `privateKeyPath`). */
  privateKey?: string
  /**
   * Forward security (instead of a private key): the bundle of epoch keys written by
   * `audit-chain epochs` (mode 0600). Records are signed with the current epoch's key;
   * as each epoch ends the transport writes an `epoch.close` record and erases that
   * key from the bundle, so a later break-in cannot re-sign earlier epochs. One
   * bundle per log. Auditors verify with `--master` and `--certs`.
   */
  epochKeysPath?: string
  /** Create the destination's directory (mode 0750) if missing. Default true. */
  mkdir?: boolean
  /** Durability; see {@link FsyncMode}. Default `'close'`. */
  fsync?: FsyncMode
  /** Where to keep the signed head file; `false` for none. Default `${destination}.head.json`. */
  headFile?: string | false
  /** How often (ms) the head file is refreshed while records arrive. Default 1000. */
  headIntervalMs?: number
  /**
   * Threads that compute the Ed25519 signatures, a whole number from 1 to 64.
   * `1` signs inline in the transport's own thread, with no pool. With N > 1 the hash
   * chain stays in the transport thread, N - 1 pool threads sign batches of records in
   * parallel and the transport thread signs batches too whenever it would wait for
   * them; lines are still written strictly in seq order. Default: the machine's
   * `os.availableParallelism()`, at most 4 (1 on a single-core machine).
   */
  signers?: number
  /**
   * Start a new file when the current one reaches `size` (bytes, or text such as
   * `'10MB'`; 1KB = 1024 bytes) and/or has been open for `interval` (milliseconds, or
   * text such as `'1h'`, `'1d'`; counted from the file's first record). The current
   * file keeps the `destination` name; full ones are renamed
   * `<name>.<UTC time>.<first seq><ext>` (e.g. `audit.2026-11-27T03-15-00-123Z.42.log`)
   * and the chain continues in the next file with a `file.open` record.
   */
  rotation?: { size?: number | string, interval?: number | string }
  /**
   * Delete the oldest rotated files of this chain: beyond `maxFiles` rotated files
   * (the current file is not counted), and/or those last written more than `maxAge`
   * ago (milliseconds, or text such as `'30d'`). Each deletion is recorded first in a
   * signed `retention.prune` record, so the verifier can tell pruning from tampering.
   */
  retention?: { maxFiles?: number, maxAge?: number | string }
  /**
   * For apps that run several processes with the same options (node:cluster, PM2
   * cluster mode): each process writes its own chain in the destination's directory,
   * `audit.log` becoming `audit.0.log`, `audit.1.log`, … (a "slot" each, with its own
   * lock, head file and rotated files). A starting writer takes the lowest slot no live
   * process holds, so a process that replaces a crashed one continues its chain.
   * Retention counts each chain's files on their own. Default false.
   */
  perProcess?: boolean
}

export interface RotationOptions {
  /** Bytes; undefined for no size limit. */
  size: number | undefined
  /** Milliseconds; undefined for no time limit. */
  intervalMs: number | undefined
}

export interface RetentionOptions {
  maxFiles: number | undefined
  maxAgeMs: number | undefined
}

export interface ResolvedOptions {
  destination: string
  privateKeyPath: string | undefined
  privateKey: string | undefined
  epochKeysPath: string | undefined
  mkdir: boolean
  fsync: FsyncMode
  headFile: string | undefined
  headIntervalMs: number
  signers: number
  rotation: RotationOptions | undefined
  retention: RetentionOptions | undefined
  perProcess: boolean
}

// Signing scales with cores, but the transport thread (parse, hash, write) caps the
// rate near ~4 signers' worth of signatures (bench/README.md); more threads only cost memory.
const MAX_DEFAULT_SIGNERS = 4
// A sanity bound: more threads than this is a typo, not a machine.
const MAX_SIGNERS = 64

/** The default number of signing threads on this machine. */
export function defaultSigners (): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_DEFAULT_SIGNERS))
}

// Members pino.transport() adds to every transport's options.
const ADDED_BY_PINO = new Set(['$context', 'pinoWillSendConfig'])
const KNOWN = new Set(['destination', 'privateKeyPath', 'privateKey', 'epochKeysPath', 'mkdir', 'fsync', 'headFile', 'headIntervalMs', 'signers', 'rotation', 'retention', 'perProcess'])
// A rotated file smaller than this would hold little more than its own file.open record.
const MIN_ROTATION_SIZE = 1024
// Timers below a second rotate faster than anyone can read the files.
const MIN_ROTATION_INTERVAL_MS = 1000

function bad (key: string, expected: string, found: unknown): AuditChainError {
  const shown = typeof found === 'string' ? JSON.stringify(found) : String(found)
  return new AuditChainError('PAC_BAD_OPTION', `option ${key} must be ${expected}, got ${key === 'privateKey' ? typeof found : shown}`)
}

function subOptions (key: string, value: unknown, known: string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(key, `an object with ${known.join(' and/or ')}`, value)
  const obj = value as Record<string, unknown>
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new AuditChainError('PAC_BAD_OPTION', `unknown option ${key}.${k}; known: ${known.map((n) => `${key}.${n}`).join(', ')}`)
  }
  return obj
}

function resolveRotation (value: unknown): RotationOptions | undefined {
  if (value === undefined) return undefined
  const { size, interval } = subOptions('rotation', value, ['size', 'interval'])
  const bytes = size === undefined ? undefined : (typeof size === 'string' || typeof size === 'number') ? parseSize(size) : undefined
  if (size !== undefined && (bytes === undefined || bytes < MIN_ROTATION_SIZE)) {
    throw bad('rotation.size', `a size of at least ${MIN_ROTATION_SIZE} bytes: a number of bytes or text such as "64KB" or "10MB"`, size)
  }
  const ms = interval === undefined ? undefined : typeof interval === 'number' ? (Number.isSafeInteger(interval) ? interval : undefined) : typeof interval === 'string' ? parseDuration(interval) : undefined
  if (interval !== undefined && (ms === undefined || ms < MIN_ROTATION_INTERVAL_MS)) {
    throw bad('rotation.interval', 'a duration of at least 1s: milliseconds, or text such as "1h" or "1d"', interval)
  }
  if (bytes === undefined && ms === undefined) throw bad('rotation', 'an object with size and/or interval', JSON.stringify(value))
  return { size: bytes, intervalMs: ms }
}

function resolveRetention (value: unknown): RetentionOptions | undefined {
  if (value === undefined) return undefined
  const { maxFiles, maxAge } = subOptions('retention', value, ['maxFiles', 'maxAge'])
  if (maxFiles !== undefined && !(typeof maxFiles === 'number' && Number.isSafeInteger(maxFiles) && maxFiles >= 1)) {
    throw bad('retention.maxFiles', 'a whole number of rotated files to keep, at least 1', maxFiles)
  }
  const ms = maxAge === undefined ? undefined : typeof maxAge === 'number' ? (Number.isSafeInteger(maxAge) && maxAge > 0 ? maxAge : undefined) : typeof maxAge === 'string' ? parseDuration(maxAge) : undefined
  if (maxAge !== undefined && ms === undefined) throw bad('retention.maxAge', 'a duration: milliseconds, or text such as "30d" or "12h"', maxAge)
  if (maxFiles === undefined && ms === undefined) throw bad('retention', 'an object with maxFiles and/or maxAge', JSON.stringify(value))
  return { maxFiles: maxFiles as number | undefined, maxAgeMs: ms }
}

export function resolveOptions (input: unknown): ResolvedOptions {
  if (input === null || typeof input !== 'object') {
    throw new AuditChainError('PAC_BAD_OPTION', 'the transport needs an options object with at least "destination" and "privateKeyPath", "privateKey" or "epochKeysPath"')
  }
  const opts = input as Record<string, unknown>
  for (const key of Object.keys(opts)) {
    if (!KNOWN.has(key) && !ADDED_BY_PINO.has(key)) {
      throw new AuditChainError('PAC_BAD_OPTION', `unknown option ${JSON.stringify(key)}; known options: ${[...KNOWN].join(', ')}`)
    }
  }
  const { destination, privateKeyPath, privateKey, epochKeysPath, mkdir = true, fsync = 'close', headFile, headIntervalMs = 1000, signers = defaultSigners(), rotation, retention, perProcess = false } = opts
  if (typeof destination !== 'string' || destination.length === 0) throw bad('destination', 'a file path', destination)
  if (privateKeyPath !== undefined && (typeof privateKeyPath !== 'string' || privateKeyPath.length === 0)) throw bad('privateKeyPath', 'a file path', privateKeyPath)
  if (privateKey !== undefined && typeof privateKey !== 'string') throw bad('privateKey', 'a PEM string', privateKey)
  if (epochKeysPath !== undefined && (typeof epochKeysPath !== 'string' || epochKeysPath.length === 0)) throw bad('epochKeysPath', 'a file path', epochKeysPath)
  if ([privateKeyPath, privateKey, epochKeysPath].filter((v) => v !== undefined).length !== 1) {
    throw new AuditChainError('PAC_BAD_OPTION', 'give exactly one of the options privateKeyPath (a PEM file), privateKey (PEM text) or epochKeysPath (a bundle of epoch keys from "audit-chain epochs")')
  }
  if (typeof mkdir !== 'boolean') throw bad('mkdir', 'true or false', mkdir)
  if (!(fsync === 'off' || fsync === 'close' || fsync === 'always' || (typeof fsync === 'number' && Number.isInteger(fsync) && fsync > 0))) {
    throw bad('fsync', '"off", "close", "always" or a whole number of milliseconds > 0', fsync)
  }
  if (headFile !== undefined && headFile !== false && (typeof headFile !== 'string' || headFile.length === 0)) throw bad('headFile', 'a file path or false', headFile)
  if (typeof headIntervalMs !== 'number' || !Number.isInteger(headIntervalMs) || headIntervalMs < 10) throw bad('headIntervalMs', 'a whole number of milliseconds >= 10', headIntervalMs)
  if (typeof signers !== 'number' || !Number.isInteger(signers) || signers < 1 || signers > MAX_SIGNERS) {
    throw bad('signers', `a whole number of signing threads from 1 (sign inline, no pool) to ${MAX_SIGNERS}`, signers)
  }
  if (typeof perProcess !== 'boolean') throw bad('perProcess', 'true or false', perProcess)
  const dest = resolve(destination)
  return {
    destination: dest,
    privateKeyPath: privateKeyPath === undefined ? undefined : resolve(privateKeyPath as string),
    privateKey: privateKey as string | undefined,
    epochKeysPath: epochKeysPath === undefined ? undefined : resolve(epochKeysPath as string),
    mkdir,
    fsync: fsync as FsyncMode,
    headFile: headFile === false ? undefined : resolve((headFile as string | undefined) ?? `${dest}.head.json`),
    headIntervalMs,
    signers,
    rotation: resolveRotation(rotation),
    retention: resolveRetention(retention),
    perProcess
  }
}
