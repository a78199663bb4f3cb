/**
 * docs/FORMAT.md §8 plays the role of a published test vector: an outside verifier is
 * written from that document alone, so its worked examples must be exactly what our
 * code produces and accepts. The values are read out of the document itself.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto'
import { chainMemberText, hashPreimagePrefix, parseRecordLine, recordHash, recordHashHex, recordHashOfBytes, recordLine } from '../src/format/record.js'
import { keyIdOf, rawPublicKey, signBytes, verifyBytes, type SigningKey } from '../src/format/keys.js'
import { checkHead, headMessage, signHead } from '../src/format/head.js'
import { ROOT } from './helpers.js'

const doc = readFileSync(join(ROOT, 'docs/FORMAT.md'), 'utf8')

/** The value after `label` on an indented line of §8 (`    LABEL   value`). */
function field (label: string): string {
  const match = doc.match(new RegExp(`^ {4}${label.replace(/[()]/g, '\\$&')} +(\\S.*)$`, 'm'))
  assert.ok(match, `FORMAT.md §8 has a line for ${label}`)
  return match[1].trim()
}

/** The indented line that follows `intro` in the document. */
function blockAfter (intro: string): string {
  const at = doc.indexOf(intro)
  assert.ok(at >= 0, `FORMAT.md has "${intro}"`)
  const rest = doc.slice(at + intro.length).split('\n').filter((l) => l.startsWith('    '))
  return rest[0].slice(4)
}

// RFC 8032 §7.1 TEST 1, wrapped as PKCS#8 (RFC 8410): the fixed 16-byte prefix + seed.
const seed = Buffer.from(field('private key seed (hex)'), 'hex')
const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
const publicKey = createPublicKey(privateKey)
const key: SigningKey = { privateKey, publicKey, kid: keyIdOf(publicKey) }

test('§8 key: raw public key, SPKI PEM and key id', () => {
  assert.equal(rawPublicKey(publicKey).toString('hex'), field('public key (raw, hex)'))
  const pemBody = publicKey.export({ format: 'pem', type: 'spki' }).toString().split('\n')[1]
  assert.ok(doc.includes(pemBody), 'the SPKI PEM in §8 is this key')
  assert.equal(key.kid, field('K = key id'))
  assert.equal(key.kid, createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16))
})

test('§8.1 record: preimage, H, G and the line, byte for byte', () => {
  const body = field('B')
  const seq = Number(field('S'))
  const prev = field('P')
  const preimage = blockAfter('Hash preimage (one line, UTF-8):')
  assert.equal(hashPreimagePrefix(seq, prev) + body, preimage)
  const hash = recordHash(seq, prev, body)
  assert.equal(hash.toString('hex'), field('H'))
  assert.equal(recordHashHex(seq, prev, body), field('H'), 'the writer\'s fast path agrees')
  assert.equal(hash.toString('hex'), createHash('sha256').update(preimage, 'utf8').digest('hex'))
  const sig = signBytes(key, hash)
  assert.equal(sig, field('G'))
  const line = recordLine(body, { v: 1, seq, prev, hash: hash.toString('hex'), kid: key.kid, sig })
  assert.equal(line, blockAfter('The record line:'))
  // And the reading side accepts exactly that line.
  const bytes = Buffer.from(line, 'utf8')
  const parsed = parseRecordLine(bytes)
  assert.ok(parsed.ok)
  assert.equal(chainMemberText(parsed.member), line.slice(line.indexOf('"chain":') + 8, -1))
  assert.equal(recordHashOfBytes(parsed.member.seq, parsed.member.prev, bytes, parsed.bodyEnd).toString('hex'), field('H'))
  assert.ok(verifyBytes({ publicKey, kid: key.kid, source: 'FORMAT.md' }, hash, parsed.member.sig))
})

test('§8.2 head: signed bytes and the head file, byte for byte', () => {
  const head = JSON.parse(blockAfter('The head file:'))
  assert.equal(headMessage(head).toString('utf8'), blockAfter('Signed bytes:'))
  const again = signHead(key, head.chainId, head.seq, head.hash, new Date(head.time))
  assert.equal(JSON.stringify(again), blockAfter('The head file:'))
  const checked = checkHead(blockAfter('The head file:'), new Map([[key.kid, { publicKey, kid: key.kid, source: 'FORMAT.md' }]]))
  assert.ok(checked.ok)
})

test('§2 the empty body {} takes no separator', () => {
  const member = { v: 1 as const, seq: 0, prev: '0'.repeat(64), hash: 'a'.repeat(64), kid: key.kid, sig: 'A'.repeat(86) }
  assert.equal(recordLine('{}', member), `{"chain":${chainMemberText(member)}}`)
  assert.equal(recordLine('{"a":1}', member), `{"a":1,"chain":${chainMemberText(member)}}`)
})
