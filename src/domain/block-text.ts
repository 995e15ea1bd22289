/**
 * A block kept as the text Ogmios sent: only its header fields are parsed (the Block the session
 * verifies), the rest stays in the frame text, where the encoder finds it (src/domain/wire-format.ts).
 * A relay that writes blocks out again needs no object graph for them: the `ogmios` format is the
 * block's own text, the `hecate` format is spliced from its members.
 *
 * Only text that a parse and stringify would give back unchanged is kept this way
 * (src/json/canonical.ts), so the bytes written are the same as from the parsed block.
 */
import type { Block } from "./block.js"

export interface BlockText {
  /** the frame holding the block */
  readonly text: string
  readonly start: number
  readonly end: number
  /** (keyStart, valueStart, valueEnd) per member of the block, keyStart at the key's quote */
  readonly members: ReadonlyArray<number>
  /** per element of `transactions`: its members' ranges (if an object), then (-1, start, end) */
  readonly transactions: ReadonlyArray<number>
}

const TEXTS = new WeakMap<Block, BlockText>()

/** Files `text` as the text of `header` (a Block holding only the header fields). */
export const keepBlockText = (header: Block, text: BlockText): Block => {
  TEXTS.set(header, text)
  return header
}

/** The text `block` was kept as, if it is a header-only block from a text chain sync. */
export const blockText = (block: Block): BlockText | undefined => TEXTS.get(block)
