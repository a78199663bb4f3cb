/**
 * Checking one line on its own (FORMAT.md §4): is it a record, does its body match
 * its hash, is it signed by a key from the keyring we were given.
 */
import { parseRecordLine, recordHashOfBytes, isChainMember, type ChainMember } from '../format/record.js'
import { verifyBytes, type VerifyKey } from '../format/keys.js'

/** The integrity failure of a record line, if any (at most one is reported per line). */
export interface IntegrityFailure {
  kind: 'modified' | 'unknown-key' | 'bad-signature'
  message: string
}

export type CheckedLine =
  | {
    kind: 'record'
    member: ChainMember
    /** The parsed line (the body's members plus `chain`). */
    fields: Record<string, unknown>
    /** `null` when the record passed §4 steps 3–6. */
    failure: IntegrityFailure | null
  }
  | { kind: 'not-record', detail: string }

const utf8 = new TextDecoder('utf-8')

/**
 * Check one line (without its `\n`). A line whose JSON carries a valid chain member
 * but fails the layout check of §4 step 3 is a record that was changed (`modified`),
 * not a malformed line: it keeps its seq so the chain can go on linking past it.
 */
export function checkLine (line: Buffer, keyring: ReadonlyMap<string, VerifyKey>): CheckedLine {
  const parsed = parseRecordLine(line)
  if (!parsed.ok) {
    if (parsed.reason !== 'layout') return { kind: 'not-record', detail: parsed.detail }
    // parseRecordLine only reports `layout` after the JSON parsed and the member was valid.
    const fields = JSON.parse(utf8.decode(line)) as Record<string, unknown>
    const member = fields.chain
    if (!isChainMember(member)) return { kind: 'not-record', detail: parsed.detail }
    return {
      kind: 'record',
      member,
      fields,
      failure: { kind: 'modified', message: `the record was changed after it was written: ${parsed.detail}` }
    }
  }
  const { member, fields } = parsed
  const hash = recordHashOfBytes(member.seq, member.prev, line, parsed.bodyEnd)
  if (hash.toString('hex') !== member.hash) {
    return { kind: 'record', member, fields, failure: { kind: 'modified', message: 'the record\'s content does not match its hash: the line was changed after it was written' } }
  }
  const key = keyring.get(member.kid)
  if (key === undefined) {
    return { kind: 'record', member, fields, failure: { kind: 'unknown-key', message: `the record is signed by key ${member.kid}, which is not among the keys given (--key); it cannot be checked and may be forged` } }
  }
  if (!verifyBytes(key, hash, member.sig)) {
    return { kind: 'record', member, fields, failure: { kind: 'bad-signature', message: `the record's signature does not verify with key ${member.kid}: it was forged or re-hashed by someone without the private key` } }
  }
  return { kind: 'record', member, fields, failure: null }
}
