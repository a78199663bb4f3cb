/**
 * A bounded hand-over from a producer that is told to wait (`pace`) to one async
 * consumer: the verifier reads ahead by at most `capacity` entries, so reading a log
 * of any size holds only that many.
 */
import { AuditChainError } from '../errors.js'

export class Channel<T> {
  private items: T[] = []
  private head = 0
  private ended = false
  private failure: unknown
  private closed = false
  private wakeConsumer: (() => void) | undefined
  private wakeProducer: { resolve: () => void, reject: (err: Error) => void } | undefined

  constructor (private readonly capacity: number) {}

  private get size (): number { return this.items.length - this.head }

  push (item: T): void {
    if (this.closed) return
    this.items.push(item)
    this.wakeConsumer?.()
  }

  /** A promise while the consumer is `capacity` entries behind; rejects once it has stopped reading. */
  pace (): Promise<void> | undefined {
    if (this.closed) return Promise.reject(stopped())
    if (this.size < this.capacity) return undefined
    return new Promise((resolve, reject) => { this.wakeProducer = { resolve, reject } })
  }

  end (failure?: unknown): void {
    this.ended = true
    this.failure = failure
    this.wakeConsumer?.()
  }

  /** The consumer stopped early: the producer's next `pace` fails and it stops. */
  close (): void {
    this.closed = true
    this.items = []
    this.head = 0
    const w = this.wakeProducer
    this.wakeProducer = undefined
    w?.reject(stopped())
  }

  async * drain (): AsyncGenerator<T> {
    for (;;) {
      if (this.size > 0) {
        const item = this.items[this.head] as T
        this.items[this.head] = undefined as unknown as T
        this.head++
        if (this.head === this.items.length) {
          this.items = []
          this.head = 0
        } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
          // Compact: a consumer that never quite catches up must not grow the array.
          this.items = this.items.slice(this.head)
          this.head = 0
        }
        if (this.wakeProducer !== undefined && this.size <= this.capacity / 2) {
          const w = this.wakeProducer
          this.wakeProducer = undefined
          w.resolve()
        }
        yield item
        continue
      }
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure
        return
      }
      await new Promise<void>((resolve) => { this.wakeConsumer = resolve })
      this.wakeConsumer = undefined
    }
  }
}

/** The reason a producer stops when its consumer has. */
export function stopped (): AuditChainError {
  return new AuditChainError('PAC_CLOSED', 'the reader was closed before the end of the log')
}
