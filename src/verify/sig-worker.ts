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
 * It receives the public keys once, as KeyObjects in workerData (structured clone),
 * then answers each batch with one byte per item: 1 when the Ed25519 signature verifies
 * (RFC 8032 §5.1.7, pure Ed25519, the message being the 32 bytes of H), else 0.
 *
 * Request `{ id, data: Uint8Array (n × 100 bytes) }`, each item a uint32 LE key index,
 * 32 bytes of H, 64 bytes of signature → response `{ id, result: Uint8Array (n) }` (the
 * batch protocol of threads/batch-pool.ts).
 * Any failure throws, which ends the thread with an 'error' the pool reports.
 */
export const SIG_WORKER_SOURCE = `
'use strict'
const ITEM_BYTES = 100
Promise.all([import('node:worker_threads'), import('node:crypto')]).then(([{ parentPort, workerData }, { verify }]) => {
const keys = workerData.keys
parentPort.on('message', ({ id, data: items }) => {
  if (!(items instanceof Uint8Array) || items.length % ITEM_BYTES !== 0) {
    throw new TypeError('a verify request must carry a Uint8Array of 100-byte items')
  }
  const count = items.length / ITEM_BYTES
  const buf = Buffer.from(items.buffer, items.byteOffset, items.length)
  const valid = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const at = i * ITEM_BYTES
    const key = keys[buf.readUInt32LE(at)]
    if (key === undefined) throw new RangeError('a verify request names key ' + buf.readUInt32LE(at) + ', which this thread was not given')
    valid[i] = verify(null, buf.subarray(at + 4, at + 36), key, buf.subarray(at + 36, at + 100)) ? 1 : 0
  }
  parentPort.postMessage({ id, result: valid }, [valid.buffer])
})
})
`
