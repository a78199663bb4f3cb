/**
 * Ed25519 (RFC 8032, pure Ed25519) on whichever backend this thread has (backend.ts),
 * with one verdict on both: the strict rule of FORMAT.md §2.1.
 *
 * A private key is a {@link SecretKey}: on libsodium its 64 bytes (seed || public key)
 * live in sodium_malloc'd memory (guard pages, mlock'd so never swapped) and
 * {@link wipeSecret} zeroes them; on node:crypto it is a KeyObject, which cannot be
 * wiped and lingers until garbage-collected.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { sodium } from './backend.js'
import { isStrictPublicKey, isStrictSignature } from './strict.js'

export const SEED_BYTES = 32
export const PUBLIC_KEY_BYTES = 32
export const SIGNATURE_BYTES = 64

export type SecretKey =
  | { readonly backend: 'libsodium', readonly bytes: Buffer, wiped: boolean }
  | { readonly backend: 'node:crypto', readonly key: KeyObject, wiped: boolean }

/** The secret key of a 32-byte seed, and its raw public key. The caller wipes `seed`. */
export function secretKeyFromSeed (seed: Uint8Array): { secret: SecretKey, publicRaw: Buffer } {
  const na = sodium()
  const publicRaw = Buffer.alloc(PUBLIC_KEY_BYTES)
  if (na !== undefined) {
    const bytes = na.sodium_malloc(64)
    na.crypto_sign_seed_keypair(publicRaw, bytes, seed)
    return { secret: { backend: 'libsodium', bytes, wiped: false }, publicRaw }
  }
  // PKCS#8 of an Ed25519 seed (RFC 8410 §7): this fixed prefix, then the 32 bytes.
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  der.fill(0)
  const jwk = createPublicKey(key).export({ format: 'jwk' })
  Buffer.from(jwk.x as string, 'base64url').copy(publicRaw)
  return { secret: { backend: 'node:crypto', key, wiped: false }, publicRaw }
}

/** A fresh copy of the seed, in an ArrayBuffer of its own (to transfer to a signing thread, which wipes it). */
export function seedCopy (secret: SecretKey): ArrayBuffer {
  if (secret.wiped) throw new Error('the key was wiped')
  const out = new Uint8Array(new ArrayBuffer(SEED_BYTES))
  if (secret.backend === 'libsodium') {
    out.set(secret.bytes.subarray(0, SEED_BYTES))
  } else {
    const der = secret.key.export({ format: 'der', type: 'pkcs8' })
    out.set(der.subarray(der.length - SEED_BYTES))
    der.fill(0)
  }
  return out.buffer
}

export function sign (secret: SecretKey, message: Uint8Array): Buffer {
  if (secret.wiped) throw new Error('the key was wiped (its epoch ended or the transport closed)')
  if (secret.backend === 'node:crypto') return nodeSign(null, message, secret.key)
  const sig = Buffer.alloc(SIGNATURE_BYTES)
  ;(sodium() as NonNullable<ReturnType<typeof sodium>>).crypto_sign_detached(sig, message, secret.bytes)
  return sig
}

/** Zero the key where that is possible (libsodium); either way it can sign no more. */
export function wipeSecret (secret: SecretKey): void {
  if (secret.wiped) return
  secret.wiped = true
  if (secret.backend === 'libsodium') sodium()?.sodium_memzero(secret.bytes)
}

/**
 * The strict verdict (FORMAT.md §2.1) on `sig` over `message` by the key whose raw
 * encoding is `publicRaw` (`publicKey`, its KeyObject, serves node:crypto).
 */
export function verify (publicRaw: Uint8Array, publicKey: KeyObject, message: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== SIGNATURE_BYTES || !isStrictSignature(sig) || !isStrictPublicKey(publicRaw)) return false
  const na = sodium()
  if (na !== undefined) return na.crypto_sign_verify_detached(sig, message, publicRaw)
  return nodeVerify(null, message, publicKey, sig)
}
