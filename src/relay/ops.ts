/**
 * The ops of one relay write: what the relay sink sends to `RelayStore.write` for a reorg batch.
 * Each apply's entry carries its block's slot as the reorg operator computed it (the batch's
 * `points`), so an EBB, which has no slot of its own, gets the slot its point has in the chain.
 */
import type { TipOrOrigin } from "../domain/point.js"
import type { Apply } from "../domain/reorg-event.js"
import { encodeBlockData, type WireFormat } from "../domain/wire-format.js"
import type { ReorgBatch } from "../streams/reorg.js"
import { type RelayOp, restartOp } from "./RelayStore.js"

/** The op of an Apply: the entry fields, the block encoded in `format` (text or UTF-8 bytes). */
const applyOp = (event: Apply, slot: number, format: WireFormat): RelayOp => ({
  _tag: "A",
  slot,
  height: event.block.height,
  hash: event.block.id,
  era: event.block.era,
  // a block kept as bytes goes to Redis as bytes (src/domain/block-text.ts)
  block: encodeBlockData(event.block, format)
})

export interface BatchOps {
  readonly ops: ReadonlyArray<RelayOp>
  /** the node's tip at the batch's last apply (undefined: the batch applies nothing) */
  readonly tip: TipOrOrigin | undefined
  /** the block bytes the ops carry (the bound of a grouped write; a string block counts its length) */
  readonly bytes: number
}

/**
 * The ops of one reorg batch, in the batch's order: an apply batch is the apply then its finals,
 * a rollback batch undoes, and a batch that moved the start point back ends with the restart.
 */
export const batchOps = (batch: ReorgBatch, format: WireFormat): BatchOps => {
  let tip: TipOrOrigin | undefined
  let bytes = 0
  const ops = batch.events.map((event, i): RelayOp => {
    switch (event._tag) {
      case "Apply": {
        tip = event.tip
        const op = applyOp(event, batch.points[i]!.slot, format)
        bytes += (op as { block: string | Buffer }).block.length
        return op
      }
      case "Undo":
        return { _tag: "U", hash: event.block.id }
      case "Final":
        return { _tag: "F", hash: event.block.id }
    }
  })
  if (batch.restart !== undefined) ops.push(restartOp(batch.restart))
  return { ops, tip, bytes }
}
