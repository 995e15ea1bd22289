/**
 * A block kept as the bytes Ogmios sent: only its header fields are parsed (the Block the session
 * verifies), the rest stays in the block's UTF-8 bytes, where the encoder finds it
 * (src/domain/wire-format.ts). A relay that writes blocks out again needs no object graph for them:
 * the `ogmios` format is the block's own bytes, the `hecate` format is spliced from its members.
 *
 * The bytes live outside the JavaScript heap (a view of the block's range of the frame's buffer):
 * blocks waiting in flight or in the volatile window are not copied by every scavenge nor
 * promoted to the old generation, and they go to Redis without being encoded to UTF-8 again.
 *
 * Only text that a parse and stringify would give back unchanged is kept this way
 * (src/json/canonical.ts), so the bytes written are the same as from the parsed block.
 */
import type { Block } from "./block.js"

export interface BlockText {
  /** the block's UTF-8 bytes, exactly as in the frame (a view into the frame's buffer: never written to) */
  readonly bytes: Buffer
  /** (keyStart, valueStart, valueEnd) per member of the block, byte offsets into `bytes`, keyStart at the key's quote */
  readonly members: ArrayLike<number>
  /** per element of `transactions`: its members' ranges (if an object), then (-1, start, end) */
  readonly transactions: ArrayLike<number>
}

const TEXTS = new WeakMap<Block, BlockText>()

/** Files `text` as the text of `header` (a Block holding only the header fields). */
export const keepBlockText = (header: Block, text: BlockText): Block => {
  TEXTS.set(header, text)
  return header
}

/** The text `block` was kept as, if it is a header-only block from a text chain sync. */
export const blockText = (block: Block): BlockText | undefined => TEXTS.get(block)
