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
import { keyIdOf, rawPublicKey, signBytes, signingKeyFromSeed, verifyBytes, verifyKeyFromPublicKey, type SigningKey } from '../src/format/keys.js'
import { checkHead, headMessage, signHead } from '../src/format/head.js'
import { certLine, certMessage, checkCertLine, kidOfRawHex, signCert } from '../src/format/epoch.js'
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

/** An Ed25519 seed wrapped as PKCS#8 (RFC 8410): the fixed 16-byte prefix + seed. */
function privateKeyOfSeed (hex: string): ReturnType<typeof createPrivateKey> {
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(hex, 'hex')]), format: 'der', type: 'pkcs8' })
}

// RFC 8032 §7.1 TEST 1.
const privateKey = privateKeyOfSeed(field('private key seed (hex)'))
const publicKey = createPublicKey(privateKey)
const key: SigningKey = signingKeyFromSeed(Buffer.from(field('private key seed (hex)'), 'hex'))

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
  assert.ok(verifyBytes(verifyKeyFromPublicKey(publicKey, 'FORMAT.md'), hash, parsed.member.sig))
})

test('§8.2 head: signed bytes and the head file, byte for byte', () => {
  const head = JSON.parse(blockAfter('The head file:'))
  assert.equal(headMessage(head).toString('utf8'), blockAfter('Signed bytes:'))
  const again = signHead(key, head.chainId, head.seq, head.hash, new Date(head.time))
  assert.equal(JSON.stringify(again), blockAfter('The head file:'))
  const checked = checkHead(blockAfter('The head file:'), new Map([[key.kid, verifyKeyFromPublicKey(publicKey, 'FORMAT.md')]]))
  assert.ok(checked.ok)
})

test('§8.3 epoch certificate: the epoch key, signed bytes and the certificate line, byte for byte', () => {
  // RFC 8032 §7.1 TEST 2 as the epoch key, certified by the §8 key as the master.
  const pub = rawPublicKey(createPublicKey(privateKeyOfSeed(field('epoch key seed (hex)')))).toString('hex')
  assert.equal(pub, field('X = epoch public key (hex)'))
  assert.equal(kidOfRawHex(pub), field('K = epoch key id'))
  assert.equal(key.kid, field('MK = master key id'))
  const cert = signCert(key, {
    series: field('S = series'),
    epoch: Number(field('N = epoch')),
    kid: kidOfRawHex(pub),
    pub,
    notBefore: Number(field('A = notBefore')),
    notAfter: Number(field('Z = notAfter'))
  })
  assert.equal(certMessage(cert).toString('utf8'), blockAfter('Signed bytes of the certificate'))
  assert.equal(certLine(cert), blockAfter('The certificate line:'))
  // And the reading side trusts exactly that line, given the master key.
  const checked = checkCertLine(blockAfter('The certificate line:'), new Map([[key.kid, verifyKeyFromPublicKey(publicKey, 'FORMAT.md')]]))
  assert.ok(checked.ok)
  assert.deepEqual(checked.cert, cert)
  assert.equal(new Date(cert.notBefore).toISOString(), '2025-11-25T00:00:00.000Z')
  assert.equal(new Date(cert.notAfter).toISOString(), '2025-11-26T00:00:00.000Z')
  const recordTime = JSON.parse(field('B')).time
  assert.ok(cert.notBefore <= recordTime && recordTime < cert.notAfter, 'the window holds the §8.1 record\'s time')
})

test('§2 the empty body {} takes no separator', () => {
  const member = { v: 1 as const, seq: 0, prev: '0'.repeat(64), hash: 'a'.repeat(64), kid: key.kid, sig: 'A'.repeat(86) }
  assert.equal(recordLine('{}', member), `{"chain":${chainMemberText(member)}}`)
  assert.equal(recordLine('{"a":1}', member), `{"a":1,"chain":${chainMemberText(member)}}`)
})
