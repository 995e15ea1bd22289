/**
 * The `redis` sink: the epoch-stream contract through an EpochStore. `beginEpoch` resets the
 * epoch's state (stream, :meta, resume entry, ready entry, metric blocks), `writeBatch` XADDs one
 * `{type: "batch", epoch, data}` entry per batch (the backfill sends them pre-encoded, `encoded`). Completion is phase 2 of the orchestrator:
 * `coordinator.markEpochComplete(epoch, resume height)` for the epochs that succeeded.
 */
import { Effect } from "effect"
import type { WireFormat } from "../domain/wire-format.js"
import { jsonArrayBatcher, partBytesFor } from "../backfill/batch.js"
import { encodeBatch, type EpochStoreShape } from "../backfill/store/EpochStore.js"
import type { BlockSink } from "./BlockSink.js"
import { BACKFILL_SINK_CAPABILITIES } from "./capabilities.js"

export interface RedisSinkOptions {
  /** Default "hecate" (the Python Hecate's wire format). */
  readonly format?: WireFormat
  /** Bytes from which a batch is staged in parts (default `partBytesFor` the sessions; Infinity: one write per batch). */
  readonly partBytes?: number
}

export const makeRedisSink = (store: EpochStoreShape, options: RedisSinkOptions = {}): BlockSink => ({
  name: "redis",
  capabilities: BACKFILL_SINK_CAPABILITIES.redis,
  open: () => Effect.void, // writes nothing: `status` stays read-only
  beginEpoch: (epoch) => store.resetEpochState(epoch),
  writeBatch: (epoch, blocks) =>
    blocks.length === 0 ? Effect.void : store.appendBatch(epoch, encodeBatch(blocks, options.format ?? "hecate")),
  encoded: {
    // parts of a batch are staged in Redis as they come (src/backfill/batch.ts): a session holds a part, not a batch
    batcher: (sessions = 1) => {
      const partBytes = options.partBytes ?? partBytesFor(sessions)
      return jsonArrayBatcher(options.format ?? "hecate", Number.isFinite(partBytes) ? partBytes + (partBytes >> 2) : 1 << 20, partBytes)
    },
    writeEncoded: (epoch, batch) =>
      batch.complete
        ? store.appendBatch(epoch, {
          data: batch.data,
          blockCount: batch.blockCount,
          lastHeight: batch.lastHeight,
          byteLength: batch.staged + batch.data.length,
          staged: batch.staged
        })
        : store.stageBatchPart(epoch, batch.data, batch.staged)
  },
  endEpoch: () => Effect.void,
  close: () => Effect.void,
  coordinator: store
})
