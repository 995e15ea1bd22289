/**
 * The historical backfill: epochs `start..target` synced concurrently (at most `concurrency` at
 * once, each retried per its schedule), written through a BlockSink, and — for a coordinating sink (redis) —
 * committed in ascending order by the atomic advance of `last_synced_epoch` through `ready_set`.
 *
 * How it differs from the Python Hecate (docs/redis-contract.md lists each difference):
 * - no lock-step batches: the next epoch starts as soon as a slot is free;
 * - each retry resets the epoch and fails over to the next endpoint;
 * - the chain is asked for the target *before* anything is written, so an empty window writes
 *   nothing;
 * - a resume never waits for consumers: below the window only what is safe is reclaimed, and
 *   refusals (exit 12/13) are reserved for a rebase, which writes epochs off;
 * - the heartbeat and cleanup loops log and carry on after a Redis error;
 * - one producer per prefix (a fenced lock): two producers would corrupt each other's epochs.
 */
import { Cause, type Duration, Effect, Fiber, type Layer, Predicate, Schedule, Semaphore } from "effect"
import { Actor } from "../actors/index.js"
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import type { Block } from "../domain/block.js"
import { errorMessage } from "../domain/error-message.js"
import type { OgmiosError } from "../ogmios/errors.js"
import { Ogmios } from "../services/Ogmios.js"
import type { EncodedBlocks } from "./batch.js"
import { ensureIndexedThrough } from "./epoch-derivation.js"
import { tuneHeapForBackfill } from "./heap.js"
import { releaseIdlePartBuffers } from "./part-buffers.js"
import { EpochIndex, type EpochRow } from "./epoch-index.js"
import { syncEpoch } from "./epoch-sync.js"
import {
  type BackfillError,
  EpochsFailed,
  OrderingStalled
} from "./errors.js"
import type { BlockSink, SinkFailure } from "../sinks/BlockSink.js"
import { decideOrderingBase } from "./store/ordering-base.js"
import type { EpochStoreShape } from "./store/EpochStore.js"

export interface BackfillOptions {
  /** First epoch (default: 208 on mainnet, the first indexed epoch elsewhere). */
  readonly startEpoch?: number | undefined
  /** Last epoch, inclusive (default and cap: the last finalized epoch, read live). */
  readonly endEpoch?: number | undefined
  readonly concurrency: number
  readonly batchSize: number
  /** nextBlock requests in flight, shared by the epoch sessions (default 100; see `sessionInFlight`). */
  readonly inFlight?: number
  /** Ogmios endpoints; attempt k of an epoch starts at the k-th next one (failover). */
  readonly endpoints: ReadonlyArray<string>
  /** Builds the Ogmios service for one epoch session over the given endpoint order. */
  readonly ogmiosLayer: (endpoints: ReadonlyArray<string>) => Layer.Layer<Ogmios, OgmiosError>
  /** Further attempts per epoch after the first (default 3). */
  readonly retries?: number
  readonly retryDelay?: Duration.Input
  readonly purgeOrphans?: boolean
  readonly rebaseOrderingBase?: boolean
  /** REDIS_MAX_UNCONSUMED_EPOCHS (default 5). */
  readonly maxUnconsumedEpochs?: number
  readonly backpressurePoll?: Duration.Input
  readonly cleanupInterval?: Duration.Input
  readonly heartbeatInterval?: Duration.Input
  /** Producer-lock owner id (default: host + pid) and TTL (default DEFAULT_LOCK_TTL_MS, refreshed every ttl/3). */
  readonly owner?: string
  readonly lockTtlMs?: number
  /** How long to wait for a silent holder's lock to expire before exit 15 (default 60 s). */
  readonly lockWaitMs?: number
  readonly onProgress?: (event: BackfillProgress) => void
}

export type BackfillProgress =
  | { readonly _tag: "Planned"; readonly start: number; readonly target: number; readonly epochs: number; readonly blocks: number }
  | { readonly _tag: "NothingToDo"; readonly reason: string }
  | { readonly _tag: "EpochStarted"; readonly epoch: number; readonly attempt: number; readonly endpoint: string }
  | { readonly _tag: "EpochBatch"; readonly epoch: number; readonly blocks: number }
  | { readonly _tag: "EpochRetry"; readonly epoch: number; readonly attempt: number; readonly error: string }
  | { readonly _tag: "EpochSynced"; readonly epoch: number; readonly blocks: number; readonly bytes: number }
  | { readonly _tag: "EpochFailed"; readonly epoch: number; readonly error: string }
  | { readonly _tag: "Committed"; readonly lastSyncedEpoch: number }
  | { readonly _tag: "BackpressurePaused"; readonly lag: number }

export interface BackfillResult {
  /** The last epoch of the relayed range, or undefined when there was nothing to do. */
  readonly target: number | undefined
  readonly epochs: number
  readonly blocks: number
}

const MAINNET_FIRST_EPOCH = 208

/**
 * The producer lock's TTL. Short, so the lock of a producer that died without releasing it
 * (SIGKILL, OOM, power loss) frees itself within seconds; it is refreshed every ttl/3.
 */
export const DEFAULT_LOCK_TTL_MS = 10_000

/**
 * Takes the prefix's producer lock and holds it for the scope. When another owner holds it, tell a
 * live holder from a dead one by its TTL: a live producer refreshes its lock every ttl/3, so the
 * remaining TTL goes back up; a dead one's only runs down. Wait while it runs down and take the
 * lock over once it expired (a rerun right after a crash just works); refuse with ProducerLockHeld
 * (exit 15) at the first refresh, for a lock without expiry, or after `maxWaitMs`.
 */
export const takeProducerLock = (store: EpochStoreShape, owner: string, ttlMs: number, maxWaitMs: number) =>
  Effect.gen(function*() {
    const started = Date.now()
    let previous: number | undefined
    for (;;) {
      const held = yield* store.holdProducerLock(owner, ttlMs).pipe(
        Effect.as(undefined),
        Effect.catchTag("ProducerLockHeld", (e) => Effect.succeed(e))
      )
      if (held === undefined) return
      const refreshed = previous !== undefined && held.ttlMs > previous
      if (held.ttlMs === -1 || refreshed || Date.now() - started > maxWaitMs) return yield* Effect.fail(held)
      if (previous === undefined) {
        yield* Effect.logInfo(
          `the producer lock of ${store.prefix} is held by ${held.holder} (expires in ${held.ttlMs} ms unless refreshed): ` +
            `waiting to see whether it is still alive`
        )
      }
      previous = held.ttlMs
      yield* Effect.sleep(Math.max(20, Math.min(250, held.ttlMs + 5)))
    }
  })

/**
 * The in-flight window of one epoch session: the run's window shared by the sessions running at
 * once. A reply in flight is a parsed block waiting in the session's queue, so the windows are
 * the blocks the process holds: at concurrency 4, 100 each cost ~25 MiB of RSS more than 25 each,
 * for no speed (four sessions keep the sockets as busy as one with the whole window). Rounded up,
 * at least 1 per session.
 */
export const sessionInFlight = (inFlight: number, concurrency: number): number =>
  Math.max(1, Math.ceil(inFlight / Math.max(1, concurrency)))

/** Endpoint order for attempt `attempt` of the `index`-th epoch: rotation spreads load and fails over. */
const rotate = (endpoints: ReadonlyArray<string>, by: number): ReadonlyArray<string> =>
  endpoints.map((_, i) => endpoints[(i + by) % endpoints.length]!)

type CommitMsg = { readonly _tag: "Commit"; readonly epoch: number; readonly lastHeight: number; readonly reply: Actor.Reply<number> }

/**
 * Resolves the window: the target from the live chain, the start from the ordering base (for a
 * coordinating store: seed / narrow / refuse / rebase, then reclaim below the window). Shared by
 * the local and the distributed backfill.
 */
export const planWindow = Effect.fnUntraced(function*(options: BackfillOptions, store: EpochStoreShape | undefined, deliveredThrough?: number) {
  const index = yield* EpochIndex
  const currentEpoch = yield* Effect.flatMap(Ogmios, (o) => o.queryLedgerStateEpoch())
  const lastFinalized = currentEpoch - 1
  const known = yield* index.knownRange()
  const defaultStart = index.network === "mainnet" ? MAINNET_FIRST_EPOCH : (known?.first ?? 0)
  let start = options.startEpoch ?? defaultStart
  let target = lastFinalized
  if (options.endEpoch !== undefined) {
    if (options.endEpoch > lastFinalized) {
      yield* Effect.logWarning(`end epoch ${options.endEpoch} is not finalized yet: clamped to ${lastFinalized}`)
    } else target = options.endEpoch
  }
  if (start > target) return { start, target, empty: true as const, reason: `no finalized epoch in ${start}..${target}` }
  // Epochs past the index (mainnet beyond the shipped CSVs, or any other network) come from the chain.
  yield* ensureIndexedThrough(target)

  if (store === undefined && deliveredThrough !== undefined && deliveredThrough >= start) {
    yield* Effect.logInfo(`resuming after epoch ${deliveredThrough}: epochs ${start}..${Math.min(deliveredThrough, target)} are already delivered to the sink`)
    start = deliveredThrough + 1
    if (start > target) return { start, target, empty: true as const, reason: `epochs up to ${deliveredThrough} are already delivered` }
  }
  if (store !== undefined) {
    const existing = yield* store.getLastSyncedEpoch()
    const decision = decideOrderingBase({ base: existing, start, end: target, rebase: options.rebaseOrderingBase })
    switch (decision._tag) {
      case "Refuse":
        return yield* Effect.fail(decision.error)
      case "Narrow":
        // without --start-epoch this is the plain resume, not a request that is partly refused
        yield* options.startEpoch === undefined
          ? Effect.logInfo(`resuming after last_synced_epoch = ${decision.base}: epochs ${decision.skipped.from}..${decision.skipped.to} are already delivered`)
          : Effect.logWarning(decision.warning)
        start = decision.start
        if (decision.empty) return { start, target, empty: true as const, reason: `epochs up to ${decision.base} are already delivered` }
        break
      case "Rebase":
        // Epochs below the new base are written off: deleting their streams must be safe (12/13 otherwise).
        yield* store.purgeStaleStreams(start, { purgeOrphans: options.purgeOrphans === true })
        yield* store.resetOrderingBase(decision.newBase)
        yield* Effect.logWarning(decision.warning)
        break
      case "Seed":
      case "Exact":
        break
    }
    yield* store.ensureOrderingBase(start - 1)
    if (decision._tag !== "Rebase") yield* reclaimBelowWindow(store, start, options.purgeOrphans === true)
  }
  return { start, target, empty: false as const, reason: "" }
})

/**
 * Below the window on a resume: free what no consumer needs any more (consumed streams, and
 * orphans when asked), stop at the first stream still being read, and never refuse to run.
 */
const reclaimBelowWindow = (store: EpochStoreShape, start: number, purgeOrphans: boolean) =>
  Effect.gen(function*() {
    if (purgeOrphans) {
      const purged = yield* store.purgeStaleStreams(start, { purgeOrphans: true }).pipe(
        Effect.map((r) => r.purged),
        Effect.catchTags({
          ConsumerNotFinished: (e) => Effect.as(Effect.logInfo(`left epoch ${e.epoch} below the window: ${e.message}`), 0),
          NoRegisteredConsumer: () => Effect.succeed(0)
        })
      )
      if (purged > 0) yield* Effect.logInfo(`purged ${purged} stream(s) below epoch ${start}`)
      return
    }
    const pass = yield* store.cleanupPass()
    if (pass.purged > 0) yield* Effect.logInfo(`reclaimed ${pass.purged} consumed stream(s) below the window`)
    if (pass.stoppedAt !== undefined && pass.stoppedAt < start - 1) {
      yield* Effect.logInfo(
        `epoch ${pass.stoppedAt} and later delivered streams are still ${pass.stoppedBecause}: kept for their consumers`
      )
    }
  })

/** The window a run covers, with the epoch-index rows of its epochs and of the anchor before them. */
export interface OpenedRun {
  readonly start: number
  readonly target: number
  readonly epochs: ReadonlyArray<number>
  readonly rows: ReadonlyMap<number, EpochRow>
  readonly plannedBlocks: number
}

/**
 * The opening every backfill run shares (local and distributed): the producer lock (coordinating
 * stores), the window plan, and the rows of its epochs. `undefined` when there is nothing to do.
 */
export const openRun = Effect.fnUntraced(function*(options: BackfillOptions, store: EpochStoreShape | undefined, owner: string, deliveredThrough?: number) {
  const index = yield* EpochIndex
  if (store !== undefined) {
    yield* takeProducerLock(store, owner, options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS, options.lockWaitMs ?? 60_000)
  }
  const window = yield* planWindow(options, store, deliveredThrough)
  if (window.empty) {
    yield* Effect.logInfo(`No epochs to process: ${window.reason}`)
    options.onProgress?.({ _tag: "NothingToDo", reason: window.reason })
    return undefined
  }
  const { start, target } = window
  const rows = new Map<number, EpochRow>()
  for (let e = Math.max(0, start - 1); e <= target; e++) rows.set(e, yield* index.boundary(e))
  const epochs = Array.from({ length: target - start + 1 }, (_, i) => start + i)
  const plannedBlocks = epochs.reduce((n, e) => n + rows.get(e)!.blocks, 0)
  return { start, target, epochs, rows, plannedBlocks } satisfies OpenedRun
})

/** The heartbeat and cleanup loops of a coordinating run, for the scope; a failed pass is logged, never fatal. */
export const startBookkeeping = (store: EpochStoreShape, options: BackfillOptions) =>
  Effect.gen(function*() {
    const logged = (what: string) => <E>(e: Effect.Effect<unknown, E>) =>
      // the cause in one line: a Redis outage or a lost lock is the user's condition, not a stack trace
      e.pipe(Effect.catchCause((cause) => Effect.logWarning(`${what} failed (${errorMessage(Cause.squash(cause))}); will try again`)))
    yield* store.heartbeat().pipe(logged("heartbeat"), Effect.repeat(Schedule.spaced(options.heartbeatInterval ?? "1 second")), Effect.forkScoped)
    yield* store.cleanupPass().pipe(
      logged("cleanup pass"),
      Effect.repeat(Schedule.spaced(options.cleanupInterval ?? "45 seconds")),
      Effect.delay(options.cleanupInterval ?? "45 seconds"),
      Effect.forkScoped
    )
  })

/** Runs the backfill. Needs an Ogmios service for the live queries, the epoch index and the sink. */
export const backfill = (sink: BlockSink, options: BackfillOptions) =>
  // A run that loses the producer lock stops at once (exit 15): its writes are fenced anyway.
  sink.coordinator === undefined ? runBackfill(sink, options) : Effect.raceFirst(runBackfill(sink, options), sink.coordinator.producerLockLost())

/**
 * The producer lock's token: unique per run, so a rerun in the same process (or a reused pid)
 * never passes the fence of a lock it did not take.
 */
export const producerToken = (): string => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`

const runBackfill = (sink: BlockSink, options: BackfillOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const emit = options.onProgress ?? (() => {})
    const store = sink.coordinator
    const delivered = sink.deliveredThrough === undefined ? undefined : yield* sink.deliveredThrough()
    const opened = yield* openRun(options, store, options.owner ?? producerToken(), delivered)
    if (opened === undefined) return { target: undefined, epochs: 0, blocks: 0 } satisfies BackfillResult
    const { start, target, epochs, rows, plannedBlocks } = opened
    tuneHeapForBackfill()
    // the sessions' part buffers are kept for the next epoch's session (src/backfill/part-buffers.ts), not beyond the run
    yield* Effect.addFinalizer(() => Effect.sync(releaseIdlePartBuffers))
    const concurrency = sink.capabilities.epochsInParallel ? Math.max(1, options.concurrency) : 1
    yield* Effect.logInfo(`Backfilling epochs ${start}..${target} (${epochs.length} epochs, ${plannedBlocks} blocks), ${Math.min(concurrency, epochs.length)} at a time`)
    emit({ _tag: "Planned", start, target, epochs: epochs.length, blocks: plannedBlocks })

    yield* sink.open({ startEpoch: start })
    yield* Effect.addFinalizer(() => sink.close().pipe(Effect.catchCause((c) => Effect.logWarning("closing the sink failed", c))))

    if (concurrency < options.concurrency) {
      yield* Effect.logInfo(`the ${sink.name} sink writes one ordered stream: epochs are synced one at a time`)
    }

    if (store !== undefined) yield* startBookkeeping(store, options)

    // --- the committer: one actor, so completions are applied one at a time ---
    const committer = yield* Actor.spawn<number | undefined, CommitMsg, SinkFailure, never>({
      name: "committer",
      initial: undefined,
      capacity: Math.max(2, concurrency),
      behavior: (last, msg) =>
        Effect.gen(function*() {
          yield* sink.endEpoch(msg.epoch, msg.lastHeight)
          const synced = store !== undefined ? yield* store.markEpochComplete(msg.epoch, msg.lastHeight) : msg.epoch
          // emitted before the reply: the run may end as soon as the last epoch's reply arrives
          if (last !== synced) emit({ _tag: "Committed", lastSyncedEpoch: synced })
          yield* Actor.reply(msg.reply, synced)
          return synced
        })
    })

    // --- epochs: at most `concurrency` at once, started in ascending order; each attempt resets the
    // epoch in the sink and moves to the next endpoint, so a retry is a plain `Effect.retry` ---
    const retries = options.retries ?? 3
    const attemptEpoch = (epoch: number, index: number, attempt: number) =>
      Effect.gen(function*() {
        const endpoints = rotate(options.endpoints, index + attempt)
        emit({ _tag: "EpochStarted", epoch, attempt, endpoint: endpoints[0]! })
        yield* sink.beginEpoch(epoch)
        const anchor = rows.get(epoch - 1) ?? ORIGIN_ANCHOR
        const request = { epoch, anchor, expected: rows.get(epoch)!, batchSize: options.batchSize, inFlight: sessionInFlight(options.inFlight ?? 100, concurrency) }
        const wrote = (blocks: number) => Effect.sync(() => emit({ _tag: "EpochBatch", epoch, blocks }))
        const encoded = sink.encoded
        const session = encoded === undefined
          ? syncEpoch(request, (blocks: ReadonlyArray<Block>) => sink.writeBatch(epoch, blocks).pipe(Effect.tap(() => wrote(blocks.length))))
          : syncEpoch(
            request,
            // a part of a batch is not a batch written: the blocks count once, with the batch's last part
            (batch: EncodedBlocks) => encoded.writeEncoded(epoch, batch).pipe(Effect.tap(() => batch.complete ? wrote(batch.blockCount) : Effect.void)),
            encoded.batcher(concurrency)
          )
        return yield* session.pipe(Effect.provide(options.ogmiosLayer(endpoints)))
      })

    /** All attempts at one epoch; fails with the last attempt's error once the retries are spent. */
    const syncWithRetries = (epoch: number, index: number) =>
      Effect.suspend(() => {
        let attempt = 0
        return Effect.suspend(() => attemptEpoch(epoch, index, attempt++)).pipe(
          Effect.tapError((error) => {
            if (attempt > retries || Predicate.isTagged(error, "ProducerLockLost")) return Effect.void
            const message = errorMessage(error)
            emit({ _tag: "EpochRetry", epoch, attempt, error: message })
            // a Redis failure is not the endpoint's: only an Ogmios fault moves to the next one
            const next = Predicate.isTagged(error, "RedisError") ? "retrying" : "retrying on the next endpoint"
            return Effect.logWarning(`epoch ${epoch}: attempt ${attempt}/${retries + 1} failed (${message}); ${next}`)
          }),
          Effect.retry({
            // a lost producer lock is not the epoch's fault: retrying cannot help, the run stops
            while: (error) => !Predicate.isTagged(error, "ProducerLockLost"),
            schedule: Schedule.spaced(options.retryDelay ?? "10 seconds").pipe(Schedule.upTo({ times: retries }))
          })
        )
      })

    const failures: Array<{ epoch: number; reason: string }> = []
    const totals = { epochs: 0, blocks: 0 }
    let active = 0
    const noteActive = (delta: number) =>
      Effect.suspend(() => {
        active += delta
        return store === undefined ? Effect.void : store.noteBatchStarted(active, concurrency)
      }).pipe(Effect.catchCause((c) => Effect.logWarning("writing workers_active failed", Cause.pretty(c))))

    // Backpressure is checked before each epoch waits for a free slot, in epoch order.
    const waitForConsumers = store === undefined ? Effect.void : Effect.gen(function*() {
      const maxUnconsumedEpochs = options.maxUnconsumedEpochs ?? 5
      if ((yield* store.unconsumedLag()) >= maxUnconsumedEpochs) {
        yield* store.cleanupPass()
        const lag = yield* store.unconsumedLag()
        if (lag >= maxUnconsumedEpochs) emit({ _tag: "BackpressurePaused", lag })
      }
      yield* store.waitForBackpressure({ maxUnconsumedEpochs, pollInterval: options.backpressurePoll ?? "10 seconds" })
    })

    const syncAndCommit = (epoch: number, index: number) =>
      Effect.gen(function*() {
        yield* noteActive(+1)
        const outcome = yield* syncWithRetries(epoch, index).pipe(
          Effect.map((result) => ({ _tag: "Synced" as const, result })),
          // a lost lock ends the whole run (exit 15); any other failure is this epoch's
          Effect.catchIf((error) => !Predicate.isTagged(error, "ProducerLockLost"), (error) => Effect.succeed({ _tag: "Failed" as const, error: errorMessage(error) }))
        )
        if (outcome._tag === "Synced") {
          emit({ _tag: "EpochSynced", epoch, blocks: outcome.result.blocks, bytes: outcome.result.bytes })
          yield* committer.ask<number>((reply) => ({ _tag: "Commit", epoch, lastHeight: outcome.result.lastHeight, reply }))
          totals.epochs += 1
          totals.blocks += outcome.result.blocks
        } else {
          emit({ _tag: "EpochFailed", epoch, error: outcome.error })
          yield* Effect.logError(`epoch ${epoch} failed after ${retries + 1} attempt(s): ${outcome.error}`)
          failures.push({ epoch, reason: outcome.error })
        }
        yield* noteActive(-1)
      })

    // Epochs start in ascending order as slots free up; a permanent failure stops new work, and the
    // epochs in flight finish and are committed (if in order).
    const slots = yield* Semaphore.make(concurrency)
    const running: Array<Fiber.Fiber<void, Effect.Error<ReturnType<typeof syncAndCommit>>>> = []
    for (const [index, epoch] of epochs.entries()) {
      if (failures.length > 0) break
      yield* waitForConsumers
      yield* Semaphore.take(slots, 1)
      // the epoch that freed this slot may just have failed: check again, or one more epoch starts
      if (failures.length > 0) break
      running.push(yield* Effect.forkChild(syncAndCommit(epoch, index).pipe(Effect.ensuring(Semaphore.release(slots, 1)))))
    }
    yield* Fiber.joinAll(running)
    if (store !== undefined) yield* store.noteBatchFinished().pipe(Effect.catchCause((c) => Effect.logWarning("metrics", Cause.pretty(c))))

    if (failures.length > 0) return yield* Effect.fail(new EpochsFailed({ failures: [...failures].sort((a, b) => a.epoch - b.epoch) }))
    if (store !== undefined) {
      const synced = yield* store.getLastSyncedEpoch()
      if (synced === undefined || synced < target) {
        return yield* Effect.fail(new OrderingStalled({ lastSynced: synced ?? null, target }))
      }
    }
    yield* Effect.logInfo(`Backfill complete: epochs ${start}..${target}, ${totals.blocks} blocks`)
    return { target, epochs: totals.epochs, blocks: totals.blocks } satisfies BackfillResult
  }))

/** Epoch 0 of a network that starts at genesis has no previous epoch: intersect at origin. */
export const ORIGIN_ANCHOR = { endSlot: -1, endHash: "genesis", endHeight: -1 } as const

export type { BackfillError }
