/**
 * What every sink is, whichever pipeline writes into it: a name and what it can do. The backfill's
 * block sinks (BlockSink.ts) and the relay's event sinks (below) both extend it, and the commands
 * and the backfill read a sink's `capabilities` (the table in capabilities.ts) instead of its name:
 * whether a run needs Redis, may sync epochs in parallel, can be resumed, and so on.
 */
import { Schema } from "effect"
import type { OperatorFunction } from "rxjs"
import type { ReorgBatch } from "../streams/reorg.js"

export interface SinkCapabilities {
  /** Writes into Redis: a run into it opens a connection (a run into any other needs no Redis at all). */
  readonly needsRedis: boolean
  /** Keeps a cursor or its commits in Redis, so a rerun resumes where an interrupted run stopped. */
  readonly resumable: boolean
  /** Keeps concurrent epochs apart (a stream per epoch, or a staged list per attempt), so several epochs may be synced at once. */
  readonly epochsInParallel: boolean
  /** Carries undo events: what it published can be rolled back (the relay's sinks). */
  readonly rollbacks: boolean
  /** Its writes are fenced by a producer lock or token: a second producer on the same keys is refused, never interleaved. */
  readonly fenced: boolean
  /** Writes lines of text (stdout or a file) rather than Redis keys: a run's summary says where they went. */
  readonly text: boolean
}

export interface Sink {
  readonly name: string
  readonly capabilities: SinkCapabilities
}

/**
 * A sink of the relay's events: it writes each reorg batch and emits once per input batch when
 * that batch is written, which is when the caller grants the chain-sync source one more credit
 * (so a slow sink slows the chain sync instead of filling memory).
 */
export interface RelayEventSink<Out = unknown> extends Sink {
  readonly write: OperatorFunction<ReorgBatch, Out>
}

export class SinkError extends Schema.TaggedError<SinkError>()("SinkError", {
  sink: Schema.String,
  detail: Schema.String,
  cause: Schema.Defect()
}) {
  readonly exitCode = 1
  override get message(): string {
    return `${this.sink} sink: ${this.detail}`
  }
}
