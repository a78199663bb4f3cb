/**
 * The transport's epoch keys (option epochKeysPath): one bundle file, or a directory
 * of bundles, one per series. A directory lets the next series be dropped in before the
 * current one runs out: the transport looks for it when an epoch ends, closes the old
 * series' last epoch with its own key and signs on with the new series, so the chain
 * never breaks (FORMAT.md §10.3, a series change after a closed epoch).
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { AuditChainError } from '../errors.js'
import { eraseThrough, loadBundle, signingKeyOf, type EpochBundle, type EpochKey } from './bundle.js'
import type { SigningKey } from '../format/keys.js'

/** An epoch of one of the bundles, with the bundle it belongs to. */
export interface HostEpoch extends EpochKey {
  readonly bundle: EpochBundle
}

export interface EpochKeys {
  /** The option's path: a bundle file or a directory of them. */
  source: string
  directory: boolean
  /** By start time; their windows never overlap. */
  bundles: EpochBundle[]
}

const iso = (ms: number): string => new Date(ms).toISOString()
const first = (b: EpochBundle): EpochKey => b.epochs[0] as EpochKey
const last = (b: EpochBundle): EpochKey => b.epochs.at(-1) as EpochKey

function withBundle (b: EpochBundle): EpochBundle {
  for (const e of b.epochs) (e as { bundle?: EpochBundle }).bundle = b
  return b
}

/** Bundle files of a directory: its *.json files, not hidden, not temporary. */
function bundlePaths (dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort().map((n) => join(dir, n))
}

function overlapping (bundles: EpochBundle[], b: EpochBundle): EpochBundle | undefined {
  return bundles.find((o) => first(o).notBefore < last(b).notAfter && first(b).notBefore < last(o).notAfter)
}

/** Load the bundle at `p` into `keys`, kept in start order; one whose times another covers is refused. */
function addBundle (keys: EpochKeys, p: string, option: string): void {
  const b = loadBundle(p, option)
  const other = overlapping(keys.bundles, b)
  if (other !== undefined) throw new AuditChainError('PAC_EPOCH', `the epoch key bundles ${other.path} and ${p} (option ${option}) cover overlapping times; a log signs with one series at a time`)
  keys.bundles.push(withBundle(b))
  keys.bundles.sort((x, y) => first(x).notBefore - first(y).notBefore)
}

export function loadEpochKeys (path: string, option = 'epochKeysPath'): EpochKeys {
  let directory = false
  try {
    directory = statSync(path).isDirectory()
  } catch {} // a missing file is reported by loadBundle, with how to make one
  const keys: EpochKeys = { source: path, directory, bundles: [] }
  const paths = directory ? bundlePaths(path) : [path]
  if (paths.length === 0) throw new AuditChainError('PAC_EPOCH', `the directory ${path} (option ${option}) holds no epoch key bundle (*.json); write one there with "audit-chain epochs --out ${path}"`)
  for (const p of paths) addBundle(keys, p, option)
  return keys
}

/**
 * Pick up bundles added to the directory since it was read (the next series). A file
 * that cannot be used is returned as a warning and skipped: a bad file dropped in must
 * not stop the audit log while the current series still has keys.
 */
export function rescan (keys: EpochKeys): AuditChainError[] {
  if (!keys.directory) return []
  const warnings: AuditChainError[] = []
  let paths: string[]
  try {
    paths = bundlePaths(keys.source)
  } catch (err) {
    return [new AuditChainError('PAC_EPOCH', `cannot list ${keys.source} for new epoch key bundles (${(err as NodeJS.ErrnoException).code ?? 'error'})`)]
  }
  for (const p of paths) {
    if (keys.bundles.some((b) => b.path === p)) continue
    try {
      addBundle(keys, p, 'epochKeysPath')
    } catch (err) {
      warnings.push(err instanceof AuditChainError ? err : new AuditChainError('PAC_EPOCH', `${p}: ${(err as Error).message}`))
    }
  }
  return warnings
}

export function allEpochs (keys: EpochKeys): HostEpoch[] {
  return keys.bundles.flatMap((b) => b.epochs as HostEpoch[])
}

export function epochOfKid (keys: EpochKeys, kid: string): HostEpoch | undefined {
  return allEpochs(keys).find((e) => e.kid === kid)
}

/** The epoch after `e`: the next of its series, else the first of the series that starts where it ends. */
export function nextEpoch (keys: EpochKeys, e: HostEpoch): HostEpoch | undefined {
  const same = e.bundle.epochs.find((x) => x.epoch === e.epoch + 1)
  if (same !== undefined) return same as HostEpoch
  const following = keys.bundles.find((b) => first(b).notBefore === e.notAfter)
  return following === undefined ? undefined : first(following) as HostEpoch
}

/** The epoch whose window holds `now`, or a clear error when none can sign now. */
export function epochNow (keys: EpochKeys, now: number): HostEpoch {
  const found = allEpochs(keys).find((e) => e.notBefore <= now && now < e.notAfter)
  if (found !== undefined) return found
  const start = Math.min(...keys.bundles.map((b) => first(b).notBefore))
  const end = Math.max(...keys.bundles.map((b) => last(b).notAfter))
  if (now < start) {
    throw new AuditChainError('PAC_EPOCH', `the epoch keys in ${keys.source} start at ${iso(start)}, but this machine's clock says ${iso(now)}: the first epoch has not begun. Check the clock, or generate a series that starts earlier`)
  }
  if (now >= end) {
    throw new AuditChainError('PAC_EPOCH', `the epoch keys in ${keys.source} expired at ${iso(end)} (the last epoch has ended): generate the next series with "audit-chain epochs"${keys.directory ? ' into that directory' : ' and point epochKeysPath at it (or at a directory holding both)'}`)
  }
  throw new AuditChainError('PAC_EPOCH', `no epoch key in ${keys.source} covers ${iso(now)}: the series there leave a gap; generate one that starts where the previous ends`)
}

export function signingKeyOfEpoch (e: HostEpoch): SigningKey {
  return signingKeyOf(e.bundle, e)
}

/** Erase, on disk, the keys of every epoch before `e` (and `e` itself when `inclusive`). */
export function eraseBefore (keys: EpochKeys, e: HostEpoch, inclusive: boolean): void {
  for (const b of keys.bundles) {
    if (b === e.bundle) eraseThrough(b, inclusive ? e.epoch : e.epoch - 1)
    else if (last(b).notAfter <= e.notBefore) eraseThrough(b, last(b).epoch)
  }
}
