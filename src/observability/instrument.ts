/**
 * Instrumentation through the hooks the pipelines already have, so the data path itself is not
 * touched:
 *
 * - backfill: its `onProgress` events (`yield* backfillObserver(inner)` wraps the command's own
 *   callback and publishes to the run's Telemetry) and a timed BlockSink (`observeSink`);
 * - relay: a RelayStore wrapper (`instrumentRelayStore(layer)`): every committed write carries its
 *   ops (applies with their content, undos), the node's tip and the consumers' lag; `setStatus`
 *   carries the connection state (following / reconnecting + endpoint / paused).
 */
import { Effect, Layer } from "effect"
import type { BackfillProgress } from "../backfill/backfill.js"
import type { BlockSink } from "../sinks/BlockSink.js"
import { redactCredentials } from "../domain/redacted-url.js"
import { RelayStore, type RelayStoreShape } from "../relay/RelayStore.js"
import type { CommandName, LiveState } from "./metrics.js"
import { Telemetry } from "./Telemetry.js"

const errorText = (e: unknown): string => redactCredentials(e instanceof Error ? e.message : String(e))

/** Wraps a backfill `onProgress` callback: the command's own first, then the run's Telemetry. */
export const backfillObserver = (inner?: (event: BackfillProgress) => void) =>
  Effect.gen(function*() {
    const telemetry = yield* Telemetry
    return (event: BackfillProgress): void => {
      // the command's own line for the event ("epoch 6: … synced") comes before the progress line it causes
      inner?.(event)
      telemetry.publishProgress(event)
    }
  })

/** A BlockSink whose batch writes are timed (hecate_redis_write_seconds{command="backfill"}). */
export const observeSink = (sink: BlockSink, live: LiveState): BlockSink => {
  const timed = <A, E>(write: Effect.Effect<A, E>) =>
    Effect.suspend(() => {
      const started = performance.now()
      return write.pipe(Effect.tap(() => Effect.sync(() => live.observeRedisWrite("backfill", (performance.now() - started) / 1000))))
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
/** The relay's connection state while its writes fail on Redis (back to "following" at the next write). */
export const WAITING_FOR_REDIS = "waiting for Redis"
/** How long a relay write may wait before the relay counts as waiting for Redis. */
const WRITE_STALL_MS = 1_000

export const wrapRelayStore = (store: RelayStoreShape, live: LiveState, command: CommandName = "relay"): RelayStoreShape => {
  let inflight = 0
  return {
    ...store,
    write: (seq, producer, ops, tip) =>
      Effect.suspend(() => {
        const started = performance.now()
        live.observeInflight("redis_writes", ++inflight)
        // a write that has waited this long means Redis is not answering (the connection waits
        // and retries rather than failing): the relay follows the chain but cannot write it
        const stalled = setTimeout(() => {
          if (live.relay.connection === "following" || live.relay.connection === "paused") live.relay.connection = WAITING_FOR_REDIS
        }, WRITE_STALL_MS)
        stalled.unref()
        return store.write(seq, producer, ops, tip).pipe(
          Effect.tap((result) =>
            Effect.sync(() => {
              live.observeRedisWrite(command, (performance.now() - started) / 1000)
              live.relay.writes++
              live.relay.lastWriteAt = new Date().toISOString()
              live.relay.lastWriteError = undefined
              if (live.relay.connection === WAITING_FOR_REDIS) live.relay.connection = "following"
              live.observeLag("relay", result.lag)
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
                live.observeRollback(undos, to)
                live.relay.lastHeight = to
              }
              live.observeBlocks(command, blocks, bytes)
              if (last !== undefined && tip !== undefined && tip !== "origin") live.observeTip(tip, last)
              else if (last !== undefined) {
                live.relay.lastHeight = last.height
                live.relay.lastSlot = last.slot
              }
            })
          ),
          // a Redis that answers PING but refuses writes (out of memory) is not "up" for the relay
          Effect.tapError((e) =>
            Effect.sync(() => {
              live.relay.lastWriteError = { message: errorText(e), at: new Date().toISOString() }
              // following the chain but unable to write it: say so where operators look (/health, /api/state)
              if (e._tag === "RedisError" && (live.relay.connection === "following" || live.relay.connection === "paused")) {
                live.relay.connection = WAITING_FOR_REDIS
              }
            })
          ),
          Effect.ensuring(Effect.sync(() => {
            clearTimeout(stalled)
            live.observeInflight("redis_writes", --inflight)
          }))
        )
      }),
    setStatus: (fields) =>
      Effect.suspend(() => {
        const state = fields["state"]
        if (typeof state === "string") {
          live.relay.connection = state
          const nodeTip = Number(fields["node_tip_height"])
          live.relay.nodeTipHeight = state === "waiting for the node" && Number.isFinite(nodeTip) ? nodeTip : undefined
          if (state === "paused") live.observePaused(true)
          else if (state === "following") live.observePaused(false)
          const endpoint = fields["endpoint"]
          if (typeof endpoint === "string") {
            live.relay.endpoint = redactCredentials(endpoint)
            const cause = fields["reconnect_cause"]
            if (state === "reconnecting") live.observeReconnect(redactCredentials(endpoint), typeof cause === "string" ? redactCredentials(cause) : undefined)
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
export const instrumentRelayStore = <E, R>(layer: Layer.Layer<RelayStore, E, R>, command: CommandName = "relay"): Layer.Layer<RelayStore, E, R | Telemetry> =>
  Layer.effect(RelayStore, Effect.gen(function*() {
    return wrapRelayStore(yield* RelayStore, (yield* Telemetry).live, command)
  })).pipe(Layer.provide(layer))
