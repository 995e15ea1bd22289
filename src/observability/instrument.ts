/**
 * Instrumentation through the hooks the pipelines already have, so the data path itself is not
 * touched:
 *
 * - backfill: its `onProgress` events (`backfillObserver(inner)` wraps the command's own callback)
 *   and a timed BlockSink (`observeSink`);
 * - relay: a RelayStore wrapper (`instrumentRelayStore(layer)`): every committed write carries its
 *   ops (applies with their content, undos), the node's tip and the consumers' lag; `setStatus`
 *   carries the connection state (following / reconnecting + endpoint / paused).
 */
import { Effect, Layer } from "effect"
import type { BackfillProgress } from "../backfill/backfill.js"
import type { BlockSink } from "../backfill/sinks/BlockSink.js"
import { redactCredentials } from "../domain/redacted-url.js"
import { RelayStore, type RelayStoreShape } from "../relay/RelayStore.js"
import {
  type CommandName,
  type EpochCell,
  live,
  observeBlocks,
  observeEpoch,
  observeInflight,
  observeLag,
  observePaused,
  observeReconnect,
  observeRedisWrite,
  observeRollback,
  observeTip
} from "./metrics.js"

/** Where backfill progress events go besides the metrics (the run's progress bar / log lines). */
const progressListeners = new Set<(event: BackfillProgress) => void>()
const errorText = (e: unknown): string => redactCredentials(e instanceof Error ? e.message : String(e))

export const addProgressListener = (listener: (event: BackfillProgress) => void): () => void => {
  progressListeners.add(listener)
  return () => void progressListeners.delete(listener)
}

/** Updates the metrics and live state for one backfill progress event. */
export const observeBackfillProgress = (event: BackfillProgress): void => {
  const b = live.backfill
  live.commands.add("backfill")
  const now = Date.now()
  const cell = (epoch: number): EpochCell => {
    let c = b.epochs.get(epoch)
    if (c === undefined) {
      c = { state: "pending", blocks: 0, attempts: 0, error: undefined, endpoint: undefined, startedAt: undefined, endedAt: undefined }
      b.epochs.set(epoch, c)
    }
    return c
  }
  switch (event._tag) {
    case "Planned":
      b.plan = { start: event.start, target: event.target, epochs: event.epochs, blocks: event.blocks }
      // the planned range as pending cells (a bounded range: one cell per epoch)
      if (event.target - event.start < 100_000) for (let e = event.start; e <= event.target; e++) cell(e)
      break
    case "EpochStarted": {
      observePaused(false)
      b.active.add(event.epoch)
      observeInflight("epoch_sessions", b.active.size)
      const c = cell(event.epoch)
      Object.assign(c, { state: "active", blocks: 0, attempts: event.attempt + 1, endpoint: redactCredentials(event.endpoint), startedAt: now, endedAt: undefined })
      break
    }
    case "EpochBatch":
      b.blocks += event.blocks
      b.firstBatchAt ??= now
      cell(event.epoch).blocks += event.blocks
      observeBlocks("backfill", event.blocks, 0)
      break
    case "EpochRetry": {
      b.active.delete(event.epoch)
      observeInflight("epoch_sessions", b.active.size)
      observeEpoch("retried")
      const c = cell(event.epoch)
      Object.assign(c, { state: "pending", attempts: event.attempt, error: redactCredentials(event.error) })
      break
    }
    case "EpochSynced": {
      b.active.delete(event.epoch)
      observeInflight("epoch_sessions", b.active.size)
      observeBlocks("backfill", 0, event.bytes)
      observeEpoch("completed")
      const c = cell(event.epoch)
      Object.assign(c, { state: c.state === "committed" ? "committed" : "synced", blocks: event.blocks, endedAt: now })
      break
    }
    case "EpochFailed": {
      b.active.delete(event.epoch)
      observeInflight("epoch_sessions", b.active.size)
      observeEpoch("failed")
      Object.assign(cell(event.epoch), { state: "failed", error: redactCredentials(event.error), endedAt: now })
      break
    }
    case "Committed":
      b.lastCommitted = event.lastSyncedEpoch
      for (const [epoch, c] of b.epochs) if (epoch <= event.lastSyncedEpoch && c.state === "synced") c.state = "committed"
      break
    case "BackpressurePaused":
      observeLag("backfill", event.lag)
      observePaused(true)
      break
    case "NothingToDo":
      break
  }
  for (const listener of progressListeners) listener(event)
}

/** Wraps a backfill `onProgress` callback: metrics + progress first, then the command's own. */
export const backfillObserver = (inner?: (event: BackfillProgress) => void) => (event: BackfillProgress): void => {
  // the command's own line for the event ("epoch 6: … synced") comes before the progress line it causes
  inner?.(event)
  observeBackfillProgress(event)
}

/** A BlockSink whose batch writes are timed (hecate_redis_write_seconds{command="backfill"}). */
export const observeSink = (sink: BlockSink): BlockSink => {
  const timed = <A, E>(write: Effect.Effect<A, E>) =>
    Effect.suspend(() => {
      const started = performance.now()
      return write.pipe(Effect.tap(() => Effect.sync(() => observeRedisWrite("backfill", (performance.now() - started) / 1000))))
    })
  const encoded = sink.encoded
  return {
    ...sink,
    writeBatch: (epoch, blocks) => timed(sink.writeBatch(epoch, blocks)),
    ...(encoded === undefined
      ? {}
      : { encoded: { batcher: encoded.batcher, writeEncoded: (epoch: number, batch) => timed(encoded.writeEncoded(epoch, batch)) } })
  }
}

/** The RelayStore with metrics: write latency, blocks/bytes, rollbacks, tip distance, lag, status. */
export const wrapRelayStore = (store: RelayStoreShape, command: CommandName = "relay"): RelayStoreShape => {
  let inflight = 0
  return {
    ...store,
    write: (seq, producer, ops, tip) =>
      Effect.suspend(() => {
        const started = performance.now()
        observeInflight("redis_writes", ++inflight)
        return store.write(seq, producer, ops, tip).pipe(
          Effect.tap((result) =>
            Effect.sync(() => {
              observeRedisWrite(command, (performance.now() - started) / 1000)
              live.relay.writes++
              live.relay.lastWriteAt = new Date().toISOString()
              live.relay.lastWriteError = undefined
              observeLag("relay", result.lag)
              if (result._tag !== "Written") return
              let blocks = 0
              let bytes = 0
              let undos = 0
              let last: { slot: number; height: number } | undefined
              for (const op of ops) {
                if (op._tag === "A") {
                  blocks++
                  bytes += Buffer.byteLength(op.block)
                  last = { slot: op.slot, height: op.height }
                } else if (op._tag === "U") undos++
              }
              if (undos > 0) {
                const from = live.relay.lastHeight
                const to = from === undefined ? undefined : from - undos
                observeRollback(undos, to)
                live.relay.lastHeight = to
              }
              observeBlocks(command, blocks, bytes)
              if (last !== undefined && tip !== undefined && tip !== "origin") observeTip(tip, last)
              else if (last !== undefined) {
                live.relay.lastHeight = last.height
                live.relay.lastSlot = last.slot
              }
            })
          ),
          // a Redis that answers PING but refuses writes (out of memory) is not "up" for the relay
          Effect.tapError((e) => Effect.sync(() => (live.relay.lastWriteError = { message: errorText(e), at: new Date().toISOString() }))),
          Effect.ensuring(Effect.sync(() => observeInflight("redis_writes", --inflight)))
        )
      }),
    setStatus: (fields) =>
      Effect.suspend(() => {
        const state = fields["state"]
        if (typeof state === "string") {
          live.relay.connection = state
          const nodeTip = Number(fields["node_tip_height"])
          live.relay.nodeTipHeight = state === "waiting for the node" && Number.isFinite(nodeTip) ? nodeTip : undefined
          if (state === "paused") observePaused(true)
          else if (state === "following") observePaused(false)
          const endpoint = fields["endpoint"]
          if (typeof endpoint === "string") {
            live.relay.endpoint = redactCredentials(endpoint)
            const cause = fields["reconnect_cause"]
            if (state === "reconnecting") observeReconnect(redactCredentials(endpoint), typeof cause === "string" ? redactCredentials(cause) : undefined)
          }
        }
        // the status hash in Redis is read by operators and dashboards: no endpoint credentials
        const endpoint = fields["endpoint"]
        const cause = fields["reconnect_cause"]
        return store.setStatus({
          ...fields,
          ...(typeof endpoint === "string" ? { endpoint: redactCredentials(endpoint) } : {}),
          ...(typeof cause === "string" ? { reconnect_cause: redactCredentials(cause) } : {})
        })
      })
  }
}

/** `RelayStore.layer(...)` with metrics (same service, same behaviour). */
export const instrumentRelayStore = <E, R>(layer: Layer.Layer<RelayStore, E, R>, command: CommandName = "relay"): Layer.Layer<RelayStore, E, R> =>
  Layer.effect(RelayStore, Effect.gen(function*() {
    return wrapRelayStore(yield* RelayStore, command)
  })).pipe(Layer.provide(layer))
