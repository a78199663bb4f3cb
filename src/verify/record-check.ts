/**
 * Checking one line on its own (FORMAT.md §4): is it a record, does its body match
 * its hash, is it signed by a key from the keyring we were given.
 */
import { parseRecordLine, recordHashOfBytes, isChainMember, type ChainMember } from '../format/record.js'
import { verifyBytes, type VerifyKey } from '../format/keys.js'
import { isStrictSignature } from '../crypto/strict.js'

/** The integrity failure of a record line, if any (at most one is reported per line). */
export interface IntegrityFailure {
  kind: 'modified' | 'unknown-key' | 'bad-signature'
  message: string
  /** How consecutive lines failing the same way are reported together (report.ts `Found.group`). */
  group: { cause: string, many: string }
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
  /** `reason`: a short, fixed name for why (lines with the same reason are grouped); `detail` says it for this line. */
  | { kind: 'not-record', reason: string, detail: string }

const utf8 = new TextDecoder('utf-8')
const CARRIAGE_RETURN = 0x0d

/**
 * True when `sig` is the one base64url text of its bytes. 64 bytes take 86 characters,
 * and the last one carries only 2 bits: decoders ignore its low 4, so 16 different
 * texts decode to the same signature. FORMAT.md §2 makes G *the* base64url of the
 * signature, so any other spelling is a changed line, even though its bytes verify.
 */
export function isCanonicalSig (sig: string): boolean {
  return Buffer.from(sig, 'base64url').toString('base64url') === sig
}

/** Why a line whose layout check failed was changed, with a hint for the common cause. */
function layoutFailure (line: Buffer, detail: string): IntegrityFailure {
  const crlf = line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN
  const hint = crlf ? 'so the file\'s line endings were probably converted to CRLF (a copy through a Windows tool or a text-mode transfer)' : ''
  return {
    kind: 'modified',
    message: `the record was changed after it was written: ${detail}${crlf ? `; the line ends with a carriage return, ${hint}` : ''}`,
    group: { cause: `layout ${detail} ${String(crlf)}`, many: `records were changed after they were written (each: ${detail})${crlf ? `; the lines end with a carriage return, ${hint}` : ''}` }
  }
}

// The wrong key given is the common cause: every record of the log then fails alike.
function unknownKey (kid: string): IntegrityFailure {
  const keys = '(--key, or certified in --certs by a --master key)'
  return {
    kind: 'unknown-key',
    message: `the record is signed by key ${kid}, which is not among the keys given ${keys}; it cannot be checked and may be forged`,
    group: { cause: kid, many: `records are signed by key ${kid}, which is not among the keys given ${keys}; they cannot be checked and may be forged (was the log written with another key than the one given?)` }
  }
}

/**
 * A record that passed §4 steps 1–5 and whose key is in the keyring, with a signature
 * in its one canonical spelling: only the Ed25519 check of §4 step 6 is left.
 */
export interface PendingSignature {
  kind: 'signature'
  member: ChainMember
  fields: Record<string, unknown>
  key: VerifyKey
  /** H, the 32 bytes that were signed. */
  hash: Buffer
}

/**
 * Check one line (without its `\n`). A line whose JSON carries a valid chain member
 * but fails the layout check of §4 step 3 is a record that was changed (`modified`),
 * not a malformed line: it keeps its seq so the chain can go on linking past it.
 */
export function checkLine (line: Buffer, keyring: ReadonlyMap<string, VerifyKey>): CheckedLine {
  const checked = checkLineUpToSignature(line, keyring)
  return checked.kind === 'signature' ? checkSignature(checked) : checked
}

/** §4 step 6 in this thread: verify the signature of a line that passed everything else. */
export function checkSignature (pending: PendingSignature): CheckedLine {
  return withSignatureResult(pending, verifyBytes(pending.key, pending.hash, pending.member.sig))
}

/** {@link checkLine} without the Ed25519 verification, which the caller may do elsewhere (sig-pool.ts). */
export function checkLineUpToSignature (line: Buffer, keyring: ReadonlyMap<string, VerifyKey>): CheckedLine | PendingSignature {
  // JSON.parse would say "Unexpected end of JSON input"; say what it is.
  if (line.length === 0) return { kind: 'not-record', reason: 'empty', detail: 'the line is empty' }
  const parsed = parseRecordLine(line)
  if (!parsed.ok) {
    if (parsed.reason !== 'layout') return { kind: 'not-record', reason: parsed.reason, detail: parsed.detail }
    // parseRecordLine only reports `layout` after the JSON parsed and the member was valid.
    const fields = JSON.parse(utf8.decode(line)) as Record<string, unknown>
    const member = fields.chain
    if (!isChainMember(member)) return { kind: 'not-record', reason: parsed.reason, detail: parsed.detail }
    return { kind: 'record', member, fields, failure: layoutFailure(line, parsed.detail) }
  }
  const { member, fields } = parsed
  const hash = recordHashOfBytes(member.seq, member.prev, line, parsed.bodyEnd)
  if (hash.toString('hex') !== member.hash) {
    return { kind: 'record', member, fields, failure: { kind: 'modified', message: 'the record\'s content does not match its hash: the line was changed after it was written', group: { cause: 'hash', many: 'records\' contents do not match their hashes: the lines were changed after they were written' } } }
  }
  const key = keyring.get(member.kid)
  if (key === undefined) {
    return { kind: 'record', member, fields, failure: unknownKey(member.kid) }
  }
  // verifyBytes accepts any of the 16 spellings of G (see isCanonicalSig): without this
  // check a line changed in its signature's last character would verify as intact.
  if (!isCanonicalSig(member.sig)) {
    return { kind: 'record', member, fields, failure: { kind: 'bad-signature', message: 'the record\'s signature is not in the one base64url form the format allows (its last character was changed): the line was altered after it was written', group: { cause: 'spelling', many: 'records\' signatures are not in the one base64url form the format allows (their last characters were changed): the lines were altered after they were written' } } }
  }
  // The strict rule's byte checks (FORMAT.md §2.1) here, before the signature may go to a
  // pool thread, so that every path and backend gives one verdict.
  if (!isStrictSignature(Buffer.from(member.sig, 'base64url'))) {
    return withSignatureResult({ kind: 'signature', member, fields, key, hash }, false)
  }
  return { kind: 'signature', member, fields, key, hash }
}

/** The line's result once its signature was verified (`valid`) or not. */
export function withSignatureResult (pending: PendingSignature, valid: boolean): CheckedLine {
  const { member, fields } = pending
  if (!valid) {
    return { kind: 'record', member, fields, failure: { kind: 'bad-signature', message: `the record's signature does not verify with key ${member.kid}: it was forged or re-hashed by someone without the private key`, group: { cause: `verify ${member.kid}`, many: `records' signatures do not verify with key ${member.kid}: they were forged or re-hashed by someone without the private key` } } }
  }
  return { kind: 'record', member, fields, failure: null }
}
