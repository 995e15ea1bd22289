/**
 * The relay's Redis sink (`relay --sink redis`, the default; docs/relay.md): each reorg batch is one
 * atomic RelayStore write of its events, its final blocks and the cursor, fenced by the producer
 * token, so a rerun resumes from the cursor (capabilities.ts). Redis failures are retried forever;
 * while the consumers lag past the limits the sink holds the credit back (backpressure).
 */
import { Cause, Duration, Effect, Exit, Schedule } from "effect"
import { Observable as Rx, type OperatorFunction } from "rxjs"
import type { ReorgEvent } from "../domain/reorg-event.js"
import type { WireFormat } from "../domain/wire-format.js"
import { type BatchOps, batchOps } from "../relay/ops.js"
import type { RelayResync } from "../relay/errors.js"
import type { RelayStoreShape, WriteResult } from "../relay/RelayStore.js"
import { RedisStreak, retryRedis } from "../relay/retry-redis.js"
import type { RedisError } from "../services/Redis.js"
import type { ReorgBatch } from "../streams/reorg.js"
import { RELAY_SINK_CAPABILITIES } from "./capabilities.js"
import type { RelayEventSink } from "./Sink.js"

/** Observes a committed write (after backpressure), e.g. for progress or tests. */
export type RelayWriteObserver = (info: { readonly seq: number; readonly events: ReadonlyArray<ReorgEvent>; readonly result: WriteResult }) => void

/** What the consumers hold back: the largest group lag and XLEN events. */
type Backlog = { readonly lag: number; readonly length: number }

export interface RelaySinkOptions {
  readonly store: RelayStoreShape
  /** the fencing token returned by claim/init */
  readonly producer: number
  /** the cursor's seq: the first write of this session is seq + 1 */
  readonly seq: number
  readonly format: WireFormat
  readonly maxLag?: number
  readonly maxLength?: number
  readonly pollInterval?: Duration.Input
  readonly onWrite?: RelayWriteObserver
  /** writes in flight before the first reply (default 2) */
  readonly pipeline?: number
  /** most ops (applies, undos, finals) one write groups from queued inputs (default 256) */
  readonly maxBatchOps?: number
  /** most block bytes one write groups from queued inputs (default 8 MiB) */
  readonly maxBatchBytes?: number
}

/**
 * The Redis relay sink as an RxJS operator over `reorgBatches`: one atomic write per reorg batch,
 * or per group of batches queued behind the writes in flight (sent in order, up to `pipeline` in
 * flight), its ops built from the batch alone (`batchOps`: the points come with the events, so the
 * sink keeps no window of its own), then the backpressure wait. Emits once per input batch (undefined for an empty batch),
 * which is when the caller grants the source one more credit. Redis failures are retried forever;
 * RelayFenced / RelayResync error the Observable. Runs its effects on `context`.
 */
export const relaySink = (
  options: RelaySinkOptions,
  context: Parameters<typeof Effect.runForkWith<never>>[0]
): OperatorFunction<ReorgBatch, WriteResult | undefined> => {
  const run = Effect.runForkWith(context)
  const { store } = options
  const maxLag = options.maxLag ?? 10_000
  const maxLength = options.maxLength ?? 0
  const poll = options.pollInterval ?? "200 millis"
  let seq = options.seq
  let previous: Promise<void> = Promise.resolve()
  const writes = new RedisStreak()
  const over = (r: Backlog) => (maxLag > 0 && r.lag > maxLag) || (maxLength > 0 && r.length > maxLength)
  // asked again every `poll` while the consumers are past a limit; the last answer is the one within them
  const untilWithinLimits = Schedule.spaced(poll).pipe(
    Schedule.setInputType<Backlog>(),
    Schedule.passthrough,
    Schedule.while(({ input }) => over(input))
  )
  const backpressure = (result: WriteResult): Effect.Effect<void, RedisError> =>
    !over(result) ? Effect.void : Effect.gen(function*() {
      yield* Effect.logWarning(
        `consumers lag ${result.lag} entries (limit ${maxLag || "off"}), events holds ${result.length} (limit ${maxLength || "off"}): ` +
          `pausing chain sync until they catch up`
      )
      yield* store.setStatus({ state: "paused", since_ms: Date.now() }).pipe(Effect.ignore)
      yield* store.incrMetric("backpressure_pauses").pipe(Effect.ignore)
      const current = yield* Effect.scheduleFrom(retryRedis(store.lag(), "backpressure poll"), result, untilWithinLimits)
      yield* Effect.logInfo(`consumers caught up (lag ${current.lag}, events ${current.length}): resuming chain sync`)
      yield* store.setStatus({ state: "following", since_ms: Date.now() }).pipe(Effect.ignore)
    })

  const pipeline = Math.max(1, options.pipeline ?? 2)
  const maxOps = Math.max(1, options.maxBatchOps ?? 256)
  const maxBytes = Math.max(1, options.maxBatchBytes ?? 8 * 1024 * 1024)
  type Pending = BatchOps & { readonly batch: ReadonlyArray<ReorgEvent> }

  // One atomic write per group of inputs: an input that arrives while `pipeline` writes are in
  // flight waits, and joins the inputs queued with it in the next write (behind the tip that is
  // many chain-sync messages per round trip; at the tip, one). Every input of a group gets its
  // credit once the group's write committed. Safety does not depend on the grouping: a write is
  // one seq, committed whole or not at all.
  return (source) =>
    new Rx<WriteResult | undefined>((subscriber) => {
      const queue: Array<Pending> = []
      let inFlight = 0
      let sourceDone = false
      const fibers = new Set<() => void>()

      // an error of the source (a block that does not verify, a lost connection) ends the sink
      // only once what came before it is written: the stored cursor then holds every good block
      let sourceError: { readonly error: unknown } | undefined
      const finishIfDone = () => {
        if (inFlight > 0 || queue.length > 0) return
        if (sourceError !== undefined) subscriber.error(sourceError.error)
        else if (sourceDone) subscriber.complete()
      }

      const writeGroup = (group: ReadonlyArray<Pending>) => {
        const ops = group.flatMap((p) => p.ops)
        const tip = group.findLast((p) => p.tip !== undefined)?.tip
        const events = group.flatMap((p) => p.batch)
        const mySeq = ++seq
        const before = previous
        let committed!: () => void
        previous = new Promise<void>((resolve) => (committed = resolve))
        const attempt = retryRedis(store.write(mySeq, options.producer, ops, tip), `relay write ${mySeq}`, writes)
        // Pipelined writes can reach Redis out of order when one is re-sent (EVAL after NOSCRIPT,
        // a retry after a dropped connection): the later one is refused (RESYNC: not seq + 1) and
        // wrote nothing. So a refused write waits for its predecessor to commit and is sent once
        // more; refused again, the stored cursor really moved and the RelayResync stands.
        const resendAfterPredecessor = (refused: RelayResync) =>
          Effect.promise(() => before).pipe(
            Effect.andThen(Effect.suspend(() => attempt)),
            Effect.mapError((again) => (again._tag === "RelayResync" ? refused : again))
          )
        const write = attempt.pipe(
          Effect.catchTag("RelayResync", resendAfterPredecessor),
          Effect.tap(() => Effect.sync(() => committed())),
          Effect.tap((result) => backpressure(result)),
          Effect.tap((result) => Effect.sync(() => options.onWrite?.({ seq: mySeq, events, result })))
        )
        inFlight++
        const fiber = run(write)
        const cancel = () => fiber.interruptUnsafe()
        fibers.add(cancel)
        fiber.addObserver((exit) => {
          fibers.delete(cancel)
          inFlight--
          if (Exit.isSuccess(exit)) {
            for (let i = 0; i < group.length; i++) subscriber.next(exit.value)
            pump()
            finishIfDone()
          } else if (!Cause.hasInterruptsOnly(exit.cause)) subscriber.error(Cause.squash(exit.cause))
        })
      }

      const pump = () => {
        while (inFlight < pipeline && queue.length > 0) {
          let n = 0
          let ops = 0
          let bytes = 0
          while (n < queue.length && (n === 0 || (ops + queue[n]!.ops.length <= maxOps && bytes + queue[n]!.bytes <= maxBytes))) {
            ops += queue[n]!.ops.length
            bytes += queue[n]!.bytes
            n++
          }
          writeGroup(queue.splice(0, n))
        }
      }

      const subscription = source.subscribe({
        next: (input) => {
          try {
            const pending = batchOps(input, options.format)
            if (pending.ops.length === 0) return void subscriber.next(undefined)
            queue.push({ ...pending, batch: input.events })
            pump()
          } catch (error) {
            subscriber.error(error)
          }
        },
        error: (error) => {
          sourceError = { error }
          finishIfDone()
        },
        complete: () => {
          sourceDone = true
          finishIfDone()
        }
      })
      return () => {
        subscription.unsubscribe()
        for (const cancel of [...fibers]) cancel()
      }
    })
}

/** The relay's Redis sink as a RelayEventSink (`relaySink` with its capabilities). */
export const makeRelayRedisSink = (
  options: RelaySinkOptions,
  context: Parameters<typeof Effect.runForkWith<never>>[0]
): RelayEventSink<WriteResult | undefined> => ({
  name: "redis",
  capabilities: RELAY_SINK_CAPABILITIES.redis,
  write: relaySink(options, context)
})
