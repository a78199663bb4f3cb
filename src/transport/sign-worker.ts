/**
 * The program of a signing thread of the sign pool (sign-pool.ts), as source text run
 * with `new Worker(SIGN_WORKER_SOURCE, { eval: true })`.
 *
 * Why text and not a module file: a worker's entry is loaded by the worker's own module
 * loader, which does not have the hooks of its parent (tsx under `node --import tsx`
 * registers only in the main thread on Node 20; a bundler does not see the file).
 * The program needs nothing but node:crypto and node:worker_threads, so it runs the same
 * from dist/, from source under tsx, and inside a bundle. It loads them with `import()`,
 * not `require`: an eval'd worker inherits its parent's `--input-type=module` (as in
 * `node --input-type=module -e`), which makes the text an ES module without `require`;
 * requests that arrive before the listener is attached wait in the port.
 *
 * It receives the private key once, in workerData: on libsodium (`sodiumPath` set) as
 * its 32-byte seed in a transferred ArrayBuffer, which it expands into sodium_malloc'd
 * memory (locked, never swapped) and then zeroes; on node:crypto as a KeyObject
 * (cloned between threads by Node; never exported to text or written anywhere). The
 * addon is loaded from the path the parent resolved from this package, not from the
 * app's working directory. It then answers each batch of 32-byte record hashes with
 * their Ed25519 signatures (RFC 8032 §5.1.6, pure Ed25519). Each signature goes into a
 * 66-byte slot (64 bytes + 2 zero bytes): 66 is a multiple of 3, so the base64url text
 * of the whole buffer is 88 characters per slot and a slot's first 86 characters are
 * exactly the unpadded base64url of its 64 bytes. One string crosses back per batch,
 * and the transport thread only slices it. `{ close: true }` zeroes the key and ends
 * the thread.
 *
 * Request `{ id, data: Uint8Array (n × 32-byte hashes) }` → response `{ id, result: string (n × 88 chars) }`
 * (the batch protocol of threads/batch-pool.ts).
 * Any failure throws, which ends the thread with an 'error' the pool reports.
 */
export const SIGN_WORKER_SOURCE = `
'use strict'
Promise.all([import('node:worker_threads'), import('node:crypto'), import('node:module')]).then(([{ parentPort, workerData }, { sign }, { createRequire }]) => {
const HASH_BYTES = 32
const SIG_BYTES = 64
const SLOT_BYTES = 66
const sodium = workerData.sodiumPath === undefined ? undefined : createRequire(workerData.sodiumPath)(workerData.sodiumPath)
let secret
let privateKey = workerData.privateKey
if (sodium !== undefined) {
  const seed = new Uint8Array(workerData.seed)
  secret = sodium.sodium_malloc(64)
  sodium.crypto_sign_seed_keypair(Buffer.alloc(32), secret, seed)
  sodium.sodium_memzero(seed)
}
const signature = Buffer.alloc(SIG_BYTES)
parentPort.on('message', ({ id, data: hashes, close }) => {
  if (close === true) {
    if (secret !== undefined) sodium.sodium_memzero(secret)
    privateKey = undefined
    parentPort.close()
    return
  }
  if (!(hashes instanceof Uint8Array) || hashes.length % HASH_BYTES !== 0) {
    throw new TypeError('a sign request must carry a Uint8Array of 32-byte hashes')
  }
  const count = hashes.length / HASH_BYTES
  const slots = Buffer.alloc(count * SLOT_BYTES)
  for (let i = 0; i < count; i++) {
    const hash = hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)
    if (sodium !== undefined) {
      sodium.crypto_sign_detached(signature, hash, secret)
      signature.copy(slots, i * SLOT_BYTES)
    } else {
      const sig = sign(null, hash, privateKey)
      if (sig.length !== SIG_BYTES) throw new Error('unexpected Ed25519 signature length ' + sig.length)
      sig.copy(slots, i * SLOT_BYTES)
    }
  }
  parentPort.postMessage({ id, result: slots.toString('base64url') })
})
})
`
