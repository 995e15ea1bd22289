/**
 * The `redis` sink: the epoch-stream contract through an EpochStore. `beginEpoch` resets the
 * epoch's state (stream, :meta, resume entry, ready entry, metric blocks), `writeBatch` XADDs one
 * `{type: "batch", epoch, data}` entry per batch (the backfill sends them pre-encoded, `encoded`). Completion is phase 2 of the orchestrator:
 * `coordinator.markEpochComplete(epoch, resume height)` for the epochs that succeeded.
 */
import { Effect } from "effect"
import type { WireFormat } from "../../domain/wire-format.js"
import { jsonArrayBatcher } from "../batch.js"
import { encodeBatch, type EpochStoreShape } from "../store/EpochStore.js"
import type { BlockSink } from "./BlockSink.js"

export interface RedisSinkOptions {
  /** Default "hecate" (the Python Hecate's wire format). */
  readonly format?: WireFormat
}

export const makeRedisSink = (store: EpochStoreShape, options: RedisSinkOptions = {}): BlockSink => ({
  name: "redis",
  epochsInParallel: true,
  open: () => Effect.void, // writes nothing: `status` stays read-only
  beginEpoch: (epoch) => store.resetEpochState(epoch),
  writeBatch: (epoch, blocks) =>
    blocks.length === 0 ? Effect.void : store.appendBatch(epoch, encodeBatch(blocks, options.format ?? "hecate")),
  encoded: {
    batcher: () => jsonArrayBatcher(options.format ?? "hecate"),
    writeEncoded: (epoch, batch) =>
      store.appendBatch(epoch, { data: batch.data, blockCount: batch.blockCount, lastHeight: batch.lastHeight, byteLength: batch.data.length })
  },
  endEpoch: () => Effect.void,
  close: () => Effect.void,
  coordinator: store
})
