/**
 * The running hash chain of one writer: turns bodies into signed record lines,
 * strictly in seq order. Hashing is sequential by nature; the signature is per record.
 */
import { GENESIS_PREV, recordHash, recordLine } from '../format/record.js'
import { signBytes, type SigningKey } from '../format/keys.js'

export interface Chain {
  readonly chainId: string
  /** Seq of the last record appended, -1 before the first. */
  readonly lastSeq: number
  /** H of the last record appended (GENESIS_PREV before the first). */
  readonly lastHash: string
  /** Records appended by this writer. */
  readonly written: number
  /** The record line for `body`, with its trailing `\n`. */
  append: (body: string) => string
}

export function createChain (key: SigningKey, chainId: string, after?: { seq: number, hash: string }): Chain {
  let lastSeq = after?.seq ?? -1
  let lastHash = after?.hash ?? GENESIS_PREV
  let written = 0
  return {
    chainId,
    get lastSeq () { return lastSeq },
    get lastHash () { return lastHash },
    get written () { return written },
    append (body) {
      const seq = lastSeq + 1
      const hashBytes = recordHash(seq, lastHash, body)
      const hash = hashBytes.toString('hex')
      const line = recordLine(body, { v: 1, seq, prev: lastHash, hash, kid: key.kid, sig: signBytes(key, hashBytes) })
      lastSeq = seq
      lastHash = hash
      written++
      return line + '\n'
    }
  }
}
