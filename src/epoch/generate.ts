/**
 * `audit-chain epochs`: one Ed25519 key pair per epoch, the host's bundle of their
 * private halves, and the certificates by which the master key vouches for their
 * public halves and windows. Runs where the master key lives (not on the log host).
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { AuditChainError } from '../errors.js'
import { newKeyPair, rawPublicKey, type SigningKey } from '../format/keys.js'
import { certLine, kidOfRawHex, signCert, type EpochCert } from '../format/epoch.js'
import { bundleText, writeBundleFile, type EpochKey } from './bundle.js'
import { writeFileSync } from 'node:fs'

export interface GeneratedEpochs {
  series: string
  keys: EpochKey[]
  certs: EpochCert[]
}

/** `count` epochs of `intervalMs` each, the first starting at `start` (ms since the Unix epoch). */
export function generateEpochs (master: SigningKey, start: number, intervalMs: number, count: number): GeneratedEpochs {
  const series = randomBytes(16).toString('hex')
  const keys: EpochKey[] = []
  const certs: EpochCert[] = []
  for (let epoch = 0; epoch < count; epoch++) {
    // See newKeyPair: from a random seed, not generateKeyPairSync (a Node 20 deadlock).
    const pair = newKeyPair()
    const pub = rawPublicKey(pair.publicKey).toString('hex')
    const seed = pair.seed.toString('hex')
    pair.seed.fill(0)
    const window = { notBefore: start + epoch * intervalMs, notAfter: start + (epoch + 1) * intervalMs }
    const kid = kidOfRawHex(pub)
    keys.push({ epoch, kid, pub, ...window, seed })
    certs.push(signCert(master, { series, epoch, kid, pub, ...window }))
  }
  return { series, keys, certs }
}

export interface EpochFiles {
  series: string
  bundlePath: string
  certsPath: string
  first: EpochCert
  last: EpochCert
}

/** Write DIR/NAME.json (the host's bundle, 0600) and DIR/NAME.certs (for auditors); never overwrites. */
export function writeEpochFiles (dir: string, generated: GeneratedEpochs, master: SigningKey, name = 'epoch-keys'): EpochFiles {
  const bundlePath = join(dir, `${name}.json`)
  const certsPath = join(dir, `${name}.certs`)
  for (const path of [bundlePath, certsPath]) {
    if (existsSync(path)) throw new AuditChainError('PAC_KEY_EXISTS', `${path} already exists; refusing to overwrite epoch keys (move it away first)`)
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new AuditChainError('PAC_KEY_UNREADABLE', `cannot create directory ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  writeBundleFile(bundlePath, bundleText({ series: generated.series, master: master.kid, epochs: generated.keys }))
  writeFileSync(certsPath, generated.certs.map(certLine).join('\n') + '\n', { mode: 0o644 })
  chmodSync(certsPath, 0o644)
  return { series: generated.series, bundlePath, certsPath, first: generated.certs[0] as EpochCert, last: generated.certs.at(-1) as EpochCert }
}
