/**
 * A growable ring buffer used as a deque by the reorg operator: push/pop at the newest end,
 * pop at the oldest end, indexed access from the oldest. Every operation is O(1) (amortised for
 * the doubling growth). It is a mutable, owned structure: the reorg state guards against reuse.
 */
export class Ring<T> {
  private buffer: Array<T | undefined>
  private head = 0
  private length = 0

  constructor(initialCapacity = 16) {
    this.buffer = new Array<T | undefined>(Math.max(1, initialCapacity))
  }

  get size(): number {
    return this.length
  }

  /** The element at `index` counted from the oldest (0) towards the newest (size - 1). */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.length) return undefined
    return this.buffer[(this.head + index) % this.buffer.length]
  }

  newest(): T | undefined {
    return this.at(this.length - 1)
  }

  oldest(): T | undefined {
    return this.at(0)
  }

  pushNewest(value: T): void {
    if (this.length === this.buffer.length) this.grow()
    this.buffer[(this.head + this.length) % this.buffer.length] = value
    this.length++
  }

  popNewest(): T | undefined {
    if (this.length === 0) return undefined
    const index = (this.head + this.length - 1) % this.buffer.length
    const value = this.buffer[index]
    this.buffer[index] = undefined // let the block be collected
    this.length--
    return value
  }

  popOldest(): T | undefined {
    if (this.length === 0) return undefined
    const value = this.buffer[this.head]
    this.buffer[this.head] = undefined
    this.head = (this.head + 1) % this.buffer.length
    this.length--
    return value
  }

  /** Oldest first. O(size): for snapshots, not for the per-event path. */
  toArray(): Array<T> {
    const out: Array<T> = []
    for (let i = 0; i < this.length; i++) out.push(this.at(i) as T)
    return out
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buffer.length * 2)
    for (let i = 0; i < this.length; i++) next[i] = this.buffer[(this.head + i) % this.buffer.length]
    this.buffer = next
    this.head = 0
  }
}
