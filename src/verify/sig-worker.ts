/**
 * The program of a signature-checking thread of the verifier's pool (sig-pool.ts), as
 * source text run with `new Worker(SIG_WORKER_SOURCE, { eval: true })`, for the same
 * reason as the transport's signing threads (src/transport/sign-worker.ts): a worker's
 * entry is loaded by the worker's own module loader, which has none of its parent's
 * hooks (tsx), so plain text that needs only node:crypto and node:worker_threads runs
 * the same from dist/, from source and inside a bundle. It loads them with `import()`,
 * not `require`: an eval'd worker inherits its parent's `--input-type=module` (as in
 * `node --input-type=module -e`), which makes the text an ES module without `require`.
 * Messages that arrive before the listener is attached wait in the port.
 *
 * It receives the public keys once in workerData, raw (for libsodium, loaded from the
 * path the parent resolved from this package) and as KeyObjects (for node:crypto),
 * then answers each batch with one byte per item: 1 when the Ed25519 signature
 * verifies (RFC 8032 §5.1.7, pure Ed25519, the message being the 32 bytes of H), else
 * 0. The strict rule's checks on the bytes (FORMAT.md §2.1: S < L, R and A canonical
 * and not of small order) are made before an item is sent (record-check.ts) and when
 * a key is loaded, so the thread's verdict is the same on either backend.
 * `{ close: true }` ends the thread.
 *
 * Request `{ id, data: Uint8Array (n × 100 bytes) }`, each item a uint32 LE key index,
 * 32 bytes of H, 64 bytes of signature → response `{ id, result: Uint8Array (n) }` (the
 * batch protocol of threads/batch-pool.ts).
 * Any failure throws, which ends the thread with an 'error' the pool reports.
 */
export const SIG_WORKER_SOURCE = `
'use strict'
const ITEM_BYTES = 100
Promise.all([import('node:worker_threads'), import('node:crypto'), import('node:module')]).then(([{ parentPort, workerData }, { verify }, { createRequire }]) => {
const keys = workerData.keys
const raw = workerData.raw
const sodium = workerData.sodiumPath === undefined ? undefined : createRequire(workerData.sodiumPath)(workerData.sodiumPath)
parentPort.on('message', ({ id, data: items, close }) => {
  if (close === true) {
    parentPort.close()
    return
  }
  if (!(items instanceof Uint8Array) || items.length % ITEM_BYTES !== 0) {
    throw new TypeError('a verify request must carry a Uint8Array of 100-byte items')
  }
  const count = items.length / ITEM_BYTES
  const buf = Buffer.from(items.buffer, items.byteOffset, items.length)
  const valid = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const at = i * ITEM_BYTES
    const index = buf.readUInt32LE(at)
    const key = keys[index]
    if (key === undefined) throw new RangeError('a verify request names key ' + index + ', which this thread was not given')
    const hash = buf.subarray(at + 4, at + 36)
    const sig = buf.subarray(at + 36, at + 100)
    valid[i] = (sodium !== undefined ? sodium.crypto_sign_verify_detached(sig, hash, raw[index]) : verify(null, hash, key, sig)) ? 1 : 0
  }
  parentPort.postMessage({ id, result: valid }, [valid.buffer])
})
})
`
