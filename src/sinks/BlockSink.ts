/**
 * The sink the backfill writes to. A third-party sink needs its `capabilities` (Sink.ts; e.g. those
 * of a kind in capabilities.ts) and `open` / `writeBatch` / `close`; `beginEpoch` / `endEpoch` bracket one attempt at one epoch so a
 * sink can drop what a failed attempt wrote (the retry contract). A sink that coordinates the
 * ordered commit (the redis sink) exposes its EpochStore as `coordinator`; the orchestrator then drives the ordering base, purge, phase-2 completion,
 * backpressure and cleanup through it.
 */
import type { Effect } from "effect"
import type { Block } from "../domain/block.js"
import type { Batcher, EncodedBlocks } from "../backfill/batch.js"
import type { RedisError } from "../services/Redis.js"
import type { ProducerLockLost, StoreContractViolation } from "../backfill/errors.js"
import type { EpochStoreShape } from "../backfill/store/EpochStore.js"
import type { Sink, SinkError } from "./Sink.js"

export type SinkFailure = SinkError | RedisError | StoreContractViolation | ProducerLockLost

export interface SinkOpenContext {
  /** First epoch of the run's window (after narrowing). */
  readonly startEpoch: number
}

export interface BlockSink extends Sink {
  readonly name: "redis" | "redis-list" | "cli" | "jsonl" | (string & {})
  readonly open: (context: SinkOpenContext) => Effect.Effect<void, SinkFailure>
  /** An attempt at `epoch` starts: anything an earlier attempt at it wrote is discarded. */
  readonly beginEpoch: (epoch: number) => Effect.Effect<void, SinkFailure>
  /** Blocks of `epoch`, ascending height, at most one sink batch. */
  readonly writeBatch: (epoch: number, blocks: ReadonlyArray<Block>) => Effect.Effect<void, SinkFailure>
  /** The attempt wrote every block of `epoch`; its last block has `lastHeight`. */
  readonly endEpoch: (epoch: number, lastHeight: number) => Effect.Effect<void, SinkFailure>
  readonly close: () => Effect.Effect<void, SinkFailure>
  /**
   * Optional, and then used by the backfill instead of `writeBatch`: the sink takes its batches
   * already encoded, each block as it arrives (src/backfill/batch.ts), so a batch in memory is
   * its bytes, not parsed blocks. `batcher` gives a fresh batcher per epoch attempt.
   */
  readonly encoded?: {
    /** `sessions`: the epoch sessions running at once, which share the memory of their batches. */
    readonly batcher: (sessions?: number) => Batcher<EncodedBlocks>
    readonly writeEncoded: (epoch: number, batch: EncodedBlocks) => Effect.Effect<void, SinkFailure>
  }
  /** Present when the sink is a coordinator (redis): the store behind it. */
  readonly coordinator?: EpochStoreShape
  /**
   * A sink without an epoch store that still keeps its own progress (redis-list's cursor): the
   * last epoch an earlier run delivered, so a rerun resumes after it instead of syncing it again.
   */
  readonly deliveredThrough?: () => Effect.Effect<number | undefined, SinkFailure>
}
