/**
 * Which Ed25519 implementation this thread uses: libsodium through `sodium-native` (an
 * optional dependency, 2-2.5x faster than node:crypto here) when it loads, else
 * node:crypto, with one warning saying why. Both give the same bytes (RFC 8032
 * signatures are deterministic) and, with strict.ts, the same verdicts.
 *
 * PINO_AUDIT_CHAIN_CRYPTO=node forces node:crypto (no warning: it was asked for);
 * PINO_AUDIT_CHAIN_CRYPTO=sodium makes a missing libsodium an error instead of a fallback.
 */
import { createRequire } from 'node:module'
import { AuditChainError } from '../errors.js'

export const CRYPTO_ENV = 'PINO_AUDIT_CHAIN_CRYPTO'

/** The part of sodium-native's API we use. */
export interface Sodium {
  crypto_sign_detached: (sig: Uint8Array, message: Uint8Array, secretKey: Uint8Array) => void
  crypto_sign_verify_detached: (sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
  crypto_sign_seed_keypair: (publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array) => void
  sodium_malloc: (size: number) => Buffer
  sodium_memzero: (buf: Uint8Array) => void
}

export type BackendName = 'libsodium' | 'node:crypto'

interface Loaded {
  sodium: Sodium | undefined
  /** The addon's entry file, resolved from this package (not the app's cwd), for threads we start. */
  path: string | undefined
}

let loaded: Loaded | undefined

// Resolved from this file, so an app whose cwd is elsewhere still gets our copy.
const requireHere = createRequire(import.meta.url)

function load (): Loaded {
  const wanted = process.env[CRYPTO_ENV]
  if (wanted === 'node') return { sodium: undefined, path: undefined }
  if (wanted !== undefined && wanted !== '' && wanted !== 'sodium' && wanted !== 'auto') {
    throw new AuditChainError('PAC_BAD_OPTION', `environment variable ${CRYPTO_ENV} is "${wanted}"; expected "node" (use node:crypto), "sodium" (require libsodium) or unset (libsodium when it loads)`)
  }
  let path: string
  try {
    path = requireHere.resolve('sodium-native')
    const sodium = requireHere(path) as Sodium
    if (typeof sodium.crypto_sign_verify_detached !== 'function') throw new Error('it has no crypto_sign_verify_detached')
    return { sodium, path }
  } catch (err) {
    const why = (err as Error).message.split('\n')[0] as string
    if (wanted === 'sodium') {
      throw new AuditChainError('PAC_CRYPTO_BACKEND', `${CRYPTO_ENV}=sodium, but sodium-native cannot be loaded (${why}); install it (npm install sodium-native) or unset ${CRYPTO_ENV}`)
    }
    process.emitWarning(new AuditChainError('PAC_CRYPTO_BACKEND', `Ed25519 falls back to node:crypto (about 2x slower) because sodium-native cannot be loaded: ${why}. Install it (npm install sodium-native, with its prebuilt binary for this platform), or set ${CRYPTO_ENV}=node to choose node:crypto and silence this warning`))
    return { sodium: undefined, path: undefined }
  }
}

/** libsodium, or undefined when this thread uses node:crypto. */
export function sodium (): Sodium | undefined {
  loaded ??= load()
  return loaded.sodium
}

/** Path of the loaded sodium-native entry, for eval'd threads that must load the same copy. */
export function sodiumPath (): string | undefined {
  loaded ??= load()
  return loaded.path
}

export function backendName (): BackendName {
  return sodium() === undefined ? 'node:crypto' : 'libsodium'
}
