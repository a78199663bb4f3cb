/**
 * Certificate files (FORMAT.md §10.1) as the verifier uses them: each line the master
 * keys given vouch for adds an epoch key to the keyring, carrying its certificate so
 * the chain can check when the key signed (§10.3). A line that cannot be trusted is a
 * `bad-cert` problem and adds nothing, so the records of its key are `unknown-key`.
 */
import { readFileSync } from 'node:fs'
import { AuditChainError } from '../errors.js'
import { certLine, checkCertLine, publicKeyFromRawHex, type EpochCert } from '../format/epoch.js'
import type { VerifyKey } from '../format/keys.js'
import type { Emit } from './report.js'

/** A trusted certificate and where it was read, to name the first of two that disagree. */
interface Given {
  cert: EpochCert
  /** Its contents in one spelling: the same certificate may be written with members in another order. */
  text: string
  where: string
}

function describe (c: EpochCert): string {
  return `key ${c.kid}, epoch ${c.epoch} of series ${c.series}, window ${new Date(c.notBefore).toISOString()} – ${new Date(c.notAfter).toISOString()}`
}

/** The key id a line names, when it names one, so a finding says whose records become unknown-key. */
function claimedKid (text: string): string | undefined {
  try {
    const value = JSON.parse(text) as Record<string, unknown> | null
    return typeof value?.kid === 'string' ? value.kid : undefined
  } catch {
    return undefined
  }
}

/**
 * Read every certificate file and return one keyring entry per trusted certificate,
 * in the order read. A file that cannot be read means the verifier cannot run (thrown);
 * the same certificate given twice (a file given twice, a line copied) counts once.
 */
export function loadCerts (paths: string[], masters: ReadonlyMap<string, VerifyKey>, emit: Emit): VerifyKey[] {
  const byKid = new Map<string, Given>()
  const byEpoch = new Map<string, Given>()
  const keys: VerifyKey[] = []
  for (const path of paths) {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      throw new AuditChainError('PAC_INPUT', `certificate file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    text.split('\n').forEach((line, i) => {
      if (line.length === 0) return
      const where = `${path}:${i + 1}`
      const bad = (why: string, kid = claimedKid(line)): void => {
        const whose = kid === undefined ? 'the key it names is not trusted' : `key ${kid} is not trusted by it`
        emit({ kind: 'bad-cert', file: path, line: i + 1, message: `this certificate cannot be trusted: ${why}; ${whose} (records signed with a key no trusted certificate names are unknown-key)` })
      }
      const checked = checkCertLine(line, masters)
      if (!checked.ok) {
        bad(checked.reason)
        return
      }
      const { cert } = checked
      const given: Given = { cert, text: certLine(cert), where }
      const sameKid = byKid.get(cert.kid)
      const sameEpoch = byEpoch.get(`${cert.series}|${cert.epoch}`)
      for (const first of [sameKid, sameEpoch]) {
        if (first !== undefined && first.text !== given.text) {
          const what = first === sameKid ? `key ${cert.kid}` : `epoch ${cert.epoch} of series ${cert.series}`
          bad(`another certificate for ${what} was given first at ${first.where} (${describe(first.cert)}), and this one differs (${describe(cert)}); the first one stays`, cert.kid)
          return
        }
      }
      if (sameKid !== undefined) return
      let publicKey
      try {
        publicKey = publicKeyFromRawHex(cert.pub)
      } catch (err) {
        bad(`its pub is not an Ed25519 public key (${(err as Error).message})`, cert.kid)
        return
      }
      byKid.set(cert.kid, given)
      byEpoch.set(`${cert.series}|${cert.epoch}`, given)
      keys.push({ publicKey, raw: Buffer.from(cert.pub, 'hex'), kid: cert.kid, source: where, epoch: cert })
    })
  }
  return keys
}
