/**
 * Batches of blocks for the sinks, collected while an epoch session runs (src/backfill/epoch-sync.ts).
 *
 * A sink batch is 500 blocks by default: 7–40 MB of block JSON. Held as parsed blocks, that is
 * several times the text in object graphs that live long enough to reach V8's old space, and the
 * encode at flush made one more copy as a string, which ioredis copied twice more (a concatenated
 * command string, then its UTF-8 buffer). `jsonArrayBatcher` encodes each block as soon as it
 * arrives, straight into a reused UTF-8 buffer, so the parsed block dies young and a batch costs
 * its bytes once, outside the JS heap; the sink hands that buffer to Redis (one copy in ioredis).
 *
 * A whole batch in memory is still 7–30 MB, two per epoch session (the one collected, the one
 * written): at concurrency 4 that was ~90 MiB of the process. So the batcher hands a batch over in
 * parts of about `partBytes` (1 MiB): the redis sink stages each part in Redis as it comes and
 * the last part's write turns the staged bytes into the stream entry. The entry is the same; the
 * process holds two parts per session, whatever the batch size or the block size.
 */
import type { Block } from "../domain/block.js"
import { encodeBlockData, type WireFormat } from "../domain/wire-format.js"
import { returnPartBuffer, takePartBuffer } from "./part-buffers.js"

/** Collects one batch at a time: `add` the epoch's blocks in order, `take` hands the batch over. */
export interface Batcher<B> {
  readonly add: (block: Block) => void
  /** Blocks in the batch being collected. */
  readonly size: number
  /**
   * The batch collected so far (at least one block); the next `add` starts a new one. With
   * `complete` false (only when `partReady`), the bytes collected so far are handed over as a part
   * of the batch, which goes on collecting.
   */
  readonly take: (complete?: boolean) => B
  /** The bytes collected since the last `take` reached the part size: hand them over as a part. */
  readonly partReady?: boolean
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

/**
 * One encoded batch, or one part of it: UTF-8 bytes of the JSON array of its blocks, and what
 * bookkeeping needs. The parts of a batch, concatenated, are the bytes of the whole batch.
 */
export interface EncodedBlocks {
  /** `[block,block,…]` in the wire format (the same bytes as the JSON text of the array), or a part of it. */
  readonly data: Buffer
  /** Blocks of the batch so far (for the last part: the whole batch). */
  readonly blockCount: number
  readonly lastHeight: number
  /** Bytes of the batch handed over in earlier parts (0: `data` starts the batch). */
  readonly staged: number
  /** `data` ends the batch (its "]" included); false for a part that more parts follow. */
  readonly complete: boolean
}

/** The smallest part of the backfill's epoch sessions. */
export const PART_BYTES = 1 << 20

/**
 * The parts' bytes shared by the epoch sessions running at once: each part is a round trip the
 * session waits for, so a lone session takes big parts (a 14.7 KB-block batch in one) and four
 * take 2 MiB each; never under PART_BYTES. (A 4 MiB budget held 10 MiB fewer buffer bytes but
 * lowered the peak at concurrency 1 by only ~4 MiB, 148–151 against 150–156 MiB, and made
 * concurrency 1 and 2 1–10 % slower in pairs run beside main: not kept.)
 */
export const PART_BUDGET_BYTES = 8 << 20

export const partBytesFor = (sessions: number): number => Math.max(PART_BYTES, Math.floor(PART_BUDGET_BYTES / Math.max(1, sessions)))

const OPEN = 0x5b // [
const COMMA = 0x2c // ,
const CLOSE = 0x5d // ]

/**
 * Encodes blocks into JSON-array bytes as they arrive. Two buffers alternate: the part being
 * collected, and the one being written (the session collects the next part meanwhile). A buffer
 * goes back to the process's pool (src/backfill/part-buffers.ts) once its write reported
 * `written`, for this session's next part or the next epoch's session; a part whose write failed
 * keeps its buffer (whatever still references it sees it unchanged) and a fresh one is taken.
 * `partBytes` (default: no parts) is the size from which `partReady` says to hand the bytes over.
 */
export const jsonArrayBatcher = (format: WireFormat, initialBytes = 1 << 20, partBytes = Infinity): Batcher<EncodedBlocks> => {
  let buf: Buffer | undefined
  let length = 0
  let count = 0
  let lastHeight = -1
  let staged = 0

  const reserve = (bytes: number): Buffer => {
    if (buf === undefined) buf = takePartBuffer(Math.max(initialBytes, bytes))
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
      const data = encodeBlockData(block, format)
      if (typeof data !== "string") {
        // a block kept as bytes: copied into the part as they are, no string of it built
        const b = reserve(data.length + 2)
        b[length++] = count === 0 ? OPEN : COMMA
        length += data.copy(b, length)
      } else {
        // a UTF-16 code unit is at most 3 UTF-8 bytes; one more for the separator, one for "]". Near
        // the end of the buffer the exact length decides, so a big block does not grow it for nothing
        const bound = data.length * 3 + 2
        const b = reserve(buf !== undefined && buf.length - length < bound ? Buffer.byteLength(data, "utf8") + 2 : bound)
        b[length++] = count === 0 ? OPEN : COMMA
        length += b.write(data, length, "utf8")
      }
      count++
      lastHeight = block.height
    },
    get size() {
      return count
    },
    get partReady() {
      return length >= partBytes
    },
    take: (complete = true) => {
      const b = reserve(1)
      if (complete) b[length++] = CLOSE
      const out: EncodedBlocks = { data: b.subarray(0, length), blockCount: count, lastHeight, staged, complete }
      buf = undefined
      staged = complete ? 0 : staged + length
      length = 0
      if (complete) count = 0
      return out
    },
    written: (batch) => {
      // the whole buffer behind the batch's view: nothing reads it any more
      returnPartBuffer(Buffer.from(batch.data.buffer))
    }
  }
}
