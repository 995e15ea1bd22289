/**
 * Batches of blocks for the sinks, collected while an epoch session runs (src/backfill/epoch-sync.ts).
 *
 * A sink batch is 500 blocks by default: 7–40 MB of block JSON. Held as parsed blocks, that is
 * several times the text in object graphs that live long enough to reach V8's old space, and the
 * encode at flush made one more copy as a string, which ioredis copied twice more (a concatenated
 * command string, then its UTF-8 buffer). `jsonArrayBatcher` encodes each block as soon as it
 * arrives, straight into a reused UTF-8 buffer, so the parsed block dies young and a batch costs
 * its bytes once, outside the JS heap; the sink hands that buffer to Redis (one copy in ioredis).
 */
import type { Block } from "../domain/block.js"
import { encodeBlock, type WireFormat } from "../domain/wire-format.js"

/** Collects one batch at a time: `add` the epoch's blocks in order, `take` hands the batch over. */
export interface Batcher<B> {
  readonly add: (block: Block) => void
  /** Blocks in the batch being collected. */
  readonly size: number
  /** The batch collected so far (at least one block); the next `add` starts a new one. */
  readonly take: () => B
  /** The write of a batch that `take` returned has finished (its memory may be reused). */
  readonly written: (batch: B) => void
  /**
   * The batcher only encodes the blocks it is given (`encodeBlock`), so the session may hand it
   * header-only blocks kept as their frame text (src/domain/block-text.ts): no parse at all.
   */
  readonly blockText?: boolean
}

/** The plain batcher: arrays of the parsed blocks (the sinks' `writeBatch`). */
export const blockBatcher = (): Batcher<ReadonlyArray<Block>> => {
  let blocks: Array<Block> = []
  return {
    add: (block) => void blocks.push(block),
    get size() {
      return blocks.length
    },
    take: () => {
      const out = blocks
      blocks = []
      return out
    },
    written: () => {}
  }
}

/** One encoded batch: the UTF-8 bytes of the JSON array of its blocks, and what bookkeeping needs. */
export interface EncodedBlocks {
  /** `[block,block,…]` in the wire format, the same bytes as the JSON text of the array. */
  readonly data: Buffer
  readonly blockCount: number
  readonly lastHeight: number
}

const OPEN = 0x5b // [
const COMMA = 0x2c // ,
const CLOSE = 0x5d // ]

/**
 * Encodes blocks into JSON-array bytes as they arrive. Two buffers alternate: the batch being
 * collected, and the one being written (the session collects the next batch meanwhile). A buffer
 * is reused only once its write reported `written`; a batch whose write failed keeps its buffer
 * (whatever still references it sees it unchanged) and a fresh one is allocated.
 */
export const jsonArrayBatcher = (format: WireFormat, initialBytes = 1 << 20): Batcher<EncodedBlocks> => {
  const spare: Array<Buffer> = []
  let buf: Buffer | undefined
  let length = 0
  let count = 0
  let lastHeight = -1

  const reserve = (bytes: number): Buffer => {
    // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool, so it can be reused
    if (buf === undefined) buf = spare.pop() ?? Buffer.allocUnsafeSlow(Math.max(initialBytes, bytes))
    if (buf.length - length >= bytes) return buf
    // grow by half again: a few copies while the first batch finds its size, none after that
    const grown = Buffer.allocUnsafeSlow(Math.max(length + bytes, Math.ceil(buf.length * 1.5)))
    buf.copy(grown, 0, 0, length)
    buf = grown
    return grown
  }

  return {
    blockText: true,
    add: (block) => {
      const text = encodeBlock(block, format)
      // a UTF-16 code unit is at most 3 UTF-8 bytes; one more for the separator, one for "]"
      const b = reserve(text.length * 3 + 2)
      b[length++] = count === 0 ? OPEN : COMMA
      length += b.write(text, length, "utf8")
      count++
      lastHeight = block.height
    },
    get size() {
      return count
    },
    take: () => {
      const b = reserve(1)
      b[length++] = CLOSE
      const out: EncodedBlocks = { data: b.subarray(0, length), blockCount: count, lastHeight }
      buf = undefined
      length = 0
      count = 0
      return out
    },
    written: (batch) => {
      // the whole buffer behind the batch's view is the spare (two in use at most: this and the next)
      if (spare.length === 0) spare.push(Buffer.from(batch.data.buffer))
    }
  }
}
