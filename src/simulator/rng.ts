/**
 * Deterministic randomness for the simulator: a small, fast PRNG (sfc32) seeded from a SHA-256
 * digest, so any (seed, branch, height) tuple yields the same stream on every run and machine.
 */
import { createHash } from "node:crypto"

export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex")

/** sfc32: 128-bit state, passes PractRand for our purposes and costs a few ns per draw. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0
    this.b = b | 0
    this.c = c | 0
    this.d = d | 0
    for (let i = 0; i < 12; i++) this.nextU32()
  }

  /** Seeds from the first 16 bytes of a hex digest (e.g. a block id). */
  static fromHex(hex: string): Rng {
    return new Rng(
      parseInt(hex.slice(0, 8), 16),
      parseInt(hex.slice(8, 16), 16),
      parseInt(hex.slice(16, 24), 16),
      parseInt(hex.slice(24, 32), 16)
    )
  }

  static fromString(text: string): Rng {
    return Rng.fromHex(sha256Hex(text))
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<A>(items: ReadonlyArray<A>): A {
    return items[this.int(items.length)]!
  }

  /** Number of failed Bernoulli(p) trials before a success, plus one (>= 1). */
  geometric(p: number): number {
    if (p >= 1) return 1
    const u = 1 - this.next()
    return 1 + Math.floor(Math.log(u) / Math.log(1 - p))
  }
}

/** A stateless 32-bit integer mix (murmur3 finaliser), for O(1) random access by index. */
export const mix32 = (x: number, y: number): number => {
  let h = (Math.imul(x ^ 0x9e3779b9, 0x85ebca6b) ^ y) | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
