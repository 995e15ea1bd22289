/**
 * A growable byte buffer for writing ASCII JSON without building strings: the block generator's
 * output path. Callers only write ASCII (hex, bech32, digits, JSON punctuation).
 */
const HEX = new TextEncoder().encode("0123456789abcdef")

export class Writer {
  buf: Buffer
  pos = 0

  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial)
  }

  reset(): void {
    this.pos = 0
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  byte(b: number): void {
    this.ensure(1)
    this.buf[this.pos++] = b
  }

  /** ASCII text, copied by hand: cheaper than Buffer#write for the short, often concatenated strings we write. */
  str(text: string): void {
    const n = text.length
    this.ensure(n)
    const buf = this.buf
    let pos = this.pos
    for (let i = 0; i < n; i++) buf[pos++] = text.charCodeAt(i)
    this.pos = pos
  }

  /** A non-negative safe integer, digit by digit (no string allocation). */
  num(x: number): void {
    if (x < 10) return this.byte(48 + x)
    let digits = 1
    for (let p = 10; p <= x; p *= 10) digits++
    this.ensure(digits)
    const buf = this.buf
    for (let i = this.pos + digits - 1; i >= this.pos; i--) {
      const q = Math.floor(x / 10)
      buf[i] = 48 + (x - q * 10)
      x = q
    }
    this.pos += digits
  }

  /** Pre-encoded bytes (constants, addresses): a memcpy. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length
    this.ensure(n)
    if (n < 24) {
      const buf = this.buf
      for (let i = 0; i < n; i++) buf[this.pos + i] = bytes[i]!
    } else {
      this.buf.set(bytes, this.pos)
    }
    this.pos += n
  }

  /** 8 lowercase hex chars of a u32. */
  hex32(x: number): void {
    this.ensure(8)
    const buf = this.buf
    for (let i = 7; i >= 0; i--) {
      buf[this.pos + i] = HEX[x & 15]!
      x >>>= 4
    }
    this.pos += 8
  }

  copy(source: Buffer, offset: number, length: number): void {
    this.ensure(length)
    source.copy(this.buf, this.pos, offset, offset + length)
    this.pos += length
  }
}
