/**
 * The thread pool under the signing and signature-checking threads
 * (src/threads/batch-pool.ts), with its heap limits: a thread that runs out of memory
 * is a typed error for every batch, pending and later, never a hang or a lost batch.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AuditChainError, hasCode } from '../src/errors.js'
import { createBatchPool, POOL_THREAD_LIMITS, type BatchPoolSpec } from '../src/threads/batch-pool.js'

// Answers each batch with its byte count and the young generation limit it runs with;
// a batch whose first byte is 1 makes it keep allocating until V8 stops it.
const PROGRAM = `
import('node:worker_threads').then(({ parentPort, resourceLimits }) => {
  parentPort.on('message', ({ id, data, close }) => {
    if (close === true) { parentPort.close(); return }
    if (data[0] === 1) {
      const hoard = []
      for (;;) hoard.push(new Array(100000).fill(hoard.length))
    }
    parentPort.postMessage({ id, result: { bytes: data.length, young: resourceLimits.maxYoungGenerationSizeMb } })
  })
})
`

type Answer = { bytes: number, young: number }

function spec (resourceLimits: BatchPoolSpec<Answer>['resourceLimits']): BatchPoolSpec<Answer> {
  return {
    source: PROGRAM,
    workerData: () => ({ data: null }),
    size: 1,
    accept: (result, count) => (result as Answer).bytes === count ? result as Answer : undefined,
    failed: (index, why, cause) => new AuditChainError('PAC_WRITE_FAILED', `test thread ${index} failed (${why})`, { cause }),
    closed: () => new AuditChainError('PAC_CLOSED', 'closed'),
    resourceLimits
  }
}

test('the pool\'s threads run with the heap limits they are given', async () => {
  const pool = createBatchPool(spec(POOL_THREAD_LIMITS))
  const answer = await pool.run(new Uint8Array(new ArrayBuffer(8)), 8)
  assert.equal(answer.young, POOL_THREAD_LIMITS.maxYoungGenerationSizeMb)
  await pool.close()
})

test('a thread that runs out of memory fails its batch and every later one with the caller\'s typed error', async () => {
  const pool = createBatchPool(spec({ ...POOL_THREAD_LIMITS, maxOldGenerationSizeMb: 16 }))
  assert.equal((await pool.run(new Uint8Array(new ArrayBuffer(4)), 4)).bytes, 4, 'works until it is asked too much')
  const hoard = new Uint8Array(new ArrayBuffer(4))
  hoard[0] = 1
  await assert.rejects(pool.run(hoard, 4), (err: Error) => hasCode(err, 'PAC_WRITE_FAILED') &&
    /test thread 0 failed \(it ran out of memory: /.test(err.message) &&
    (err.cause as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY')
  await assert.rejects(pool.run(new Uint8Array(new ArrayBuffer(4)), 4), (err: Error) => hasCode(err, 'PAC_WRITE_FAILED'), 'a later batch is refused, not sent to a dead thread')
  await pool.close()
})
