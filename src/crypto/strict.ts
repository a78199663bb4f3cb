/**
 * The strict Ed25519 rule of FORMAT.md §2.1, checked on the encoded bytes before any
 * curve arithmetic. libsodium's crypto_sign_verify_detached applies the same rule; the
 * node:crypto (OpenSSL) path does not, so it calls these first. The curve equation
 * itself (RFC 8032 §5.1.7 step 3, compared as encodings, not multiplied by 8) is what
 * both libraries then check alike.
 */

// RFC 8032 §5.1: p = 2^255 - 19, the field; L = 2^252 + 27742317777372353535851937790883648493, the group order.
const P = 2n ** 255n - 19n
const L = 2n ** 252n + 27742317777372353535851937790883648493n
// The y of a point of order 8 (RFC 7748 §4.1 / "Taming the Many EdDSAs" Table 2); p - Y8 is the other.
const Y8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022n

function littleEndian (n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn)
  return out
}

const P_BYTES = littleEndian(P)
const L_BYTES = littleEndian(L)
// The 8 points of small order have these y (the sign bit of x tells the pairs apart):
// 1 (the neutral point), p-1 (order 2), 0 (order 4), Y8 and p-Y8 (order 8).
const SMALL_ORDER_Y = [0n, 1n, P - 1n, Y8, P - Y8].map(littleEndian)

/** a < b, both 32-byte little-endian; `topMask` drops bits of a's last byte (the sign bit of x). */
function lessThan (a: Uint8Array, at: number, b: Uint8Array, topMask: number): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = i === 31 ? (a[at + i] as number) & topMask : a[at + i] as number
    const y = b[i] as number
    if (x !== y) return x < y
  }
  return false
}

function sameY (a: Uint8Array, at: number, y: Uint8Array): boolean {
  for (let i = 0; i < 31; i++) if (a[at + i] !== y[i]) return false
  return ((a[at + 31] as number) & 0x7f) === y[31]
}

/** RFC 8032 §5.1.3 step 1: the encoding's y (its low 255 bits) is below p. */
export function isCanonicalPoint (bytes: Uint8Array, at = 0): boolean {
  return lessThan(bytes, at, P_BYTES, 0x7f)
}

/**
 * One of the 8 points whose order divides 8 (by y; non-canonical spellings of them are
 * refused by {@link isCanonicalPoint} first). A key or R of small order lets one
 * signature verify for many messages or keys.
 */
export function isSmallOrder (bytes: Uint8Array, at = 0): boolean {
  return SMALL_ORDER_Y.some((y) => sameY(bytes, at, y))
}

/** A public key the strict rule accepts: a canonical encoding of a point not of small order. */
export function isStrictPublicKey (raw: Uint8Array): boolean {
  return raw.length === 32 && isCanonicalPoint(raw) && !isSmallOrder(raw)
}

/**
 * The signature's part of the rule: S < L (RFC 8032 §5.1.7 step 1, "check the range
 * 0 <= s < L"), and R canonical and not of small order.
 */
export function isStrictSignature (sig: Uint8Array, at = 0): boolean {
  return lessThan(sig, at + 32, L_BYTES, 0xff) && isCanonicalPoint(sig, at) && !isSmallOrder(sig, at)
}
