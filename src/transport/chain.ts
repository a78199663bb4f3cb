/**
 * The running hash chain of one writer: turns bodies into signed record lines,
 * strictly in seq order. Hashing is sequential by nature; the signature is per record,
 * so it can be computed elsewhere (sign-pool.ts) between `prepare` and `complete`.
 */
import { GENESIS_PREV, recordHashHex, recordLine } from '../format/record.js'
import { signBytes, type SigningKey } from '../format/keys.js'
import { recordTime } from '../format/control-time.js'

/** A record whose place in the chain (seq, prev, hash) is fixed but that has no signature yet. */
export interface PreparedRecord {
  readonly seq: number
  readonly prev: string
  /** H as hex; G signs its 32 raw bytes (FORMAT.md §2). */
  readonly hash: string
  readonly body: string
  /** The key that signs it: the chain's key when it was prepared. */
  readonly kid: string
}

export interface Chain {
  readonly chainId: string
  /** Key id of the key records are prepared with now. */
  readonly kid: string
  /** Records prepared with the current key (since the chain was created or `setKey`), and the seq of the last one. */
  readonly keyRecords: number
  readonly keyLastSeq: number | null
  /** Sign the records prepared from now on with `key` (epoch keys); earlier ones keep theirs. */
  setKey: (key: SigningKey) => void
  /** Seq of the last record completed (its line built), -1 before the first. */
  readonly lastSeq: number
  /** H of the last record completed (GENESIS_PREV before the first). */
  readonly lastHash: string
  /** Records completed by this writer. */
  readonly written: number
  /** Records prepared but not completed yet. */
  readonly pending: number
  /**
   * The `time` of the last record prepared (or of `after`, the record a resumed chain
   * continues from): what the next control record's time must not fall behind.
   */
  readonly tipTime: number | undefined
  /** Fix the next record's seq, prev and hash; its line comes from `complete`. */
  prepare: (body: string) => PreparedRecord
  /** The record line for `record`, with its trailing `\n`, given G; records must be completed in seq order. */
  complete: (record: PreparedRecord, sig: string) => string
  /** prepare + sign here + complete: the record line for `body`, with its trailing `\n`. */
  append: (body: string) => string
}

export function createChain (key: SigningKey, chainId: string, after?: { seq: number, hash: string, time?: number }): Chain {
  // The tip advances at prepare; lastSeq/lastHash only once a line exists, so that a
  // head file written from them never names a record that is not in the file yet.
  let tipSeq = after?.seq ?? -1
  let tipHash = after?.hash ?? GENESIS_PREV
  let lastSeq = tipSeq
  let lastHash = tipHash
  let written = 0
  let keyRecords = 0
  let keyLastSeq: number | null = null
  // Parsed only when a control record asks (rarely), not for every record.
  let tipBody: string | undefined
  let tipTimeOfAfter = after?.time
  const chain: Chain = {
    chainId,
    get kid () { return key.kid },
    get keyRecords () { return keyRecords },
    get keyLastSeq () { return keyLastSeq },
    setKey (next) {
      key = next
      keyRecords = 0
      keyLastSeq = null
    },
    get lastSeq () { return lastSeq },
    get lastHash () { return lastHash },
    get written () { return written },
    get pending () { return tipSeq - lastSeq },
    get tipTime () { return tipBody === undefined ? tipTimeOfAfter : recordTime(tipBody) },
    prepare (body) {
      const seq = tipSeq + 1
      const hash = recordHashHex(seq, tipHash, body)
      const record = { seq, prev: tipHash, hash, body, kid: key.kid }
      tipSeq = seq
      tipHash = hash
      tipBody = body
      tipTimeOfAfter = undefined
      keyRecords++
      keyLastSeq = seq
      return record
    },
    complete (record, sig) {
      if (record.seq !== lastSeq + 1) throw new Error(`record seq ${record.seq} completed out of order (expected ${lastSeq + 1})`)
      const line = recordLine(record.body, { v: 1, seq: record.seq, prev: record.prev, hash: record.hash, kid: record.kid, sig })
      lastSeq = record.seq
      lastHash = record.hash
      written++
      return line + '\n'
    },
    append (body) {
      const signer = key
      const record = chain.prepare(body)
      return chain.complete(record, signBytes(signer, Buffer.from(record.hash, 'hex')))
    }
  }
  return chain
}
