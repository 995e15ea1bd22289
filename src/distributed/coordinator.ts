/**
 * `hecate backfill --distributed`: the coordinator. It does what the local backfill does around
 * the epoch workers — producer lock, plan (live target, ordering base, the reclaim below the
 * window), heartbeat and cleanup loops, backpressure, the ordered commit through
 * `markEpochComplete` — but the epochs are BullMQ jobs (src/distributed/EpochQueue.ts), synced by
 * `hecate worker` processes on any number of machines.
 *
 * - One job per epoch, id = Hecate prefix + epoch (jobIdFor): enqueueing again is harmless; a
 *   rerun adopts the jobs a previous run left (waiting, running, or completed but not committed)
 *   and resubmits the ones that failed.
 * - At most `maxInFlight` epochs are queued or running, and a new one is queued only while the
 *   consumers' lag is under REDIS_MAX_UNCONSUMED_EPOCHS (the same check as the local run, per
 *   epoch started), so Redis never holds more than that many written-but-unconsumed epochs plus
 *   the ones in flight.
 * - A completed job's result is committed with the same atomic advance as the local run: ready
 *   it, then advance last_synced_epoch over every contiguous ready epoch, one event each.
 * - `detach`: queue what the allowance permits, commit what is complete, and exit; the workers go
 *   on, and the next run commits their results and queues the rest.
 *
 * The opening (producer lock, window plan, epoch rows) and the heartbeat/cleanup loops are the
 * local backfill's own (`openRun`, `startBookkeeping` in src/backfill/backfill.ts).
 */
import { Cause, Duration, Effect, Option, Redacted, Ref, References } from "effect"
import type { WireFormat } from "../domain/wire-format.js"
import { type BackfillOptions, type BackfillResult, openRun, ORIGIN_ANCHOR, producerToken, startBookkeeping } from "../backfill/backfill.js"
import { EpochIndex } from "../backfill/epoch-index.js"
import { EpochsFailed, OrderingStalled } from "../backfill/errors.js"
import type { BlockSink } from "../sinks/BlockSink.js"
import { HecateConfig, InvalidConfiguration } from "../services/HecateConfig.js"
import { type EpochQueueShape, makeEpochQueue, type QueueSettings } from "./EpochQueue.js"
import { decodeEpochJobResult, type EpochJob, jobIdFor } from "./job.js"
import { queueSettings } from "./settings.js"

export interface DistributedOptions {
  readonly queue: QueueSettings
  /** Epochs queued or running at once, over all workers (default 8). */
  readonly maxInFlight?: number
  /** Exit once the allowance is queued (default: stay until the target is committed). */
  readonly detach?: boolean
  /** How often job states are read (default 1 s). */
  readonly pollInterval?: Duration.Input
  /** The wire format the workers write (default "hecate"). */
  readonly format?: WireFormat
  /** The run the jobs belong to: workers add their log lines to its log. */
  readonly run?: { readonly id: string; readonly prefix: string } | undefined
}


/**
 * The distributed backfill over the redis sink (its `coordinator` store). Same requirements as
 * the local `backfill` (Ogmios for the live queries, EpochIndex), same result and errors.
 */
export const distributedBackfill = (sink: BlockSink, options: BackfillOptions, dist: DistributedOptions) =>
  // like the local run: a coordinator that loses the producer lock stops at once (exit 15)
  sink.coordinator === undefined
    ? runDistributed(sink, options, dist)
    : Effect.raceFirst(runDistributed(sink, options, dist), sink.coordinator.producerLockLost())

const runDistributed = (sink: BlockSink, options: BackfillOptions, dist: DistributedOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const store = sink.coordinator
    if (store === undefined) {
      return yield* new InvalidConfiguration({
        variable: "--sink",
        message: `--distributed needs the redis sink (epoch streams committed in order), not ${sink.name}`
      })
    }
    const index = yield* EpochIndex
    const emit = options.onProgress ?? (() => {})
    const opened = yield* openRun(options, store, options.owner ?? `${producerToken()}:coordinator`)
    if (opened === undefined) return { target: undefined, epochs: 0, blocks: 0 } satisfies BackfillResult
    const { start, target, rows, plannedBlocks } = opened
    const epochCount = opened.epochs.length
    yield* Effect.logInfo(
      `Distributed backfill of epochs ${start}..${target} (${epochCount} epochs, ${plannedBlocks} blocks) ` +
        `through queue ${dist.queue.prefix}:${dist.queue.name}`
    )
    emit({ _tag: "Planned", start, target, epochs: epochCount, blocks: plannedBlocks })

    const queue = yield* makeEpochQueue(dist.queue)
    const maxInFlight = Math.max(1, dist.maxInFlight ?? 8)
    const maxLag = options.maxUnconsumedEpochs ?? 5
    const attempts = (options.retries ?? 3) + 1
    const backoffMs = Duration.toMillis(options.retryDelay ?? "10 seconds")
    const poll = dist.pollInterval ?? "1 second"

    yield* startBookkeeping(store, options)

    const jobFor = (epoch: number): EpochJob => {
      const anchor = rows.get(epoch - 1) ?? ORIGIN_ANCHOR
      return {
        v: 1,
        prefix: store.prefix,
        network: index.network,
        epoch,
        anchor: { endSlot: anchor.endSlot, endHash: anchor.endHash, endHeight: anchor.endHeight },
        expected: rows.get(epoch)!,
        batchSize: options.batchSize,
        inFlight: options.inFlight ?? 100,
        format: dist.format ?? "hecate",
        ...(dist.run === undefined ? {} : { run: dist.run })
      }
    }

    const pending = new Map<number, string>()
    const failures: Array<{ epoch: number; reason: string }> = []
    const totals = yield* Ref.make({ epochs: 0, blocks: 0 })
    let lastSynced = (yield* store.getLastSyncedEpoch()) ?? start - 1
    let next = start
    let paused = false

    /** Queue `epoch`, adopting a job a previous run left, resubmitting a failed one. */
    const enqueue = (epoch: number, q: EpochQueueShape) =>
      Effect.gen(function*() {
        const id = jobIdFor(store.prefix, epoch)
        const existing = yield* q.inspect(id)
        if (existing._tag === "Failed") {
          yield* Effect.logInfo(`epoch ${epoch}: resubmitting the job a previous run left failed (${existing.reason})`)
          yield* q.remove(id)
        } else if (existing._tag !== "Missing") {
          yield* Effect.logInfo(`epoch ${epoch}: adopting the ${existing._tag === "Completed" ? "completed" : "queued"} job of a previous run`)
        }
        yield* q.enqueue(id, jobFor(epoch), { attempts, backoffMs })
        pending.set(epoch, id)
      })

    /** Reads every pending job once: commits the completed ones, records the failed ones. */
    const collect = Effect.gen(function*() {
      for (const [epoch, id] of [...pending.entries()].sort((a, b) => a[0] - b[0])) {
        const view = yield* queue.inspect(id)
        switch (view._tag) {
          case "Pending":
            break
          case "Missing":
            yield* Effect.logWarning(`epoch ${epoch}: its job ${id} disappeared from the queue; queueing it again`)
            yield* queue.enqueue(id, jobFor(epoch), { attempts, backoffMs })
            break
          case "Failed":
            pending.delete(epoch)
            failures.push({ epoch, reason: view.reason })
            emit({ _tag: "EpochFailed", epoch, error: view.reason })
            yield* Effect.logError(`epoch ${epoch} failed after ${view.attemptsMade} attempt(s): ${view.reason}`)
            break
          case "Completed": {
            const result = yield* decodeEpochJobResult(view.result).pipe(Effect.option)
            if (Option.isNone(result) || result.value.epoch !== epoch || result.value.lastHeight !== rows.get(epoch)!.endHeight) {
              yield* Effect.logWarning(
                `epoch ${epoch}: its job completed with an unexpected result (${JSON.stringify(view.result)}); queueing it again`
              )
              yield* queue.remove(id)
              yield* queue.enqueue(id, jobFor(epoch), { attempts, backoffMs })
              break
            }
            const r = result.value
            if (!r.alreadyCommitted) {
              emit({ _tag: "EpochBatch", epoch, blocks: r.blocks })
              emit({ _tag: "EpochSynced", epoch, blocks: r.blocks, bytes: r.bytes })
              yield* Effect.logInfo(`epoch ${epoch}: ${r.blocks} blocks synced by ${r.worker} (attempt ${r.attempt}, ${r.ms} ms)`)
            }
            const synced = yield* store.markEpochComplete(epoch, r.lastHeight)
            yield* queue.remove(id)
            pending.delete(epoch)
            if (!r.alreadyCommitted) yield* Ref.update(totals, (t) => ({ epochs: t.epochs + 1, blocks: t.blocks + r.blocks }))
            if (synced !== lastSynced) {
              lastSynced = synced
              emit({ _tag: "Committed", lastSyncedEpoch: synced })
            }
            break
          }
        }
      }
    })

    /** Queues epochs while the allowance permits; returns whether it stopped for backpressure. */
    const fill = Effect.gen(function*() {
      while (failures.length === 0 && next <= target && pending.size < maxInFlight) {
        if ((yield* store.unconsumedLag()) >= maxLag) {
          yield* store.cleanupPass()
          const lag = yield* store.unconsumedLag()
          if (lag >= maxLag) {
            if (!paused) {
              paused = true
              emit({ _tag: "BackpressurePaused", lag })
              yield* store.setBackpressurePaused(true)
              yield* Effect.logWarning(`Backpressure: ${lag} unconsumed epoch(s) ≥ REDIS_MAX_UNCONSUMED_EPOCHS=${maxLag}; not queueing more`)
            }
            return
          }
        }
        if (paused) {
          paused = false
          yield* store.setBackpressurePaused(false)
        }
        if (next > lastSynced) yield* enqueue(next, queue)
        next++
      }
    })

    const noteActive = (n: number) =>
      store.noteBatchStarted(n, maxInFlight).pipe(Effect.catchCause((c) => Effect.logWarning("writing workers_active failed", Cause.pretty(c))))

    for (;;) {
      yield* collect
      yield* fill
      yield* noteActive(pending.size)
      if (dist.detach === true) break
      if (pending.size === 0 && (next > target || failures.length > 0)) break
      yield* Effect.sleep(poll)
    }
    if (paused) yield* Effect.ignore(store.setBackpressurePaused(false))
    yield* Effect.ignore(store.noteBatchFinished())

    const t = yield* Ref.get(totals)
    if (failures.length > 0) return yield* Effect.fail(new EpochsFailed({ failures: [...failures].sort((a, b) => a.epoch - b.epoch) }))
    if (dist.detach === true) {
      yield* Effect.logInfo(
        `Detached: ${pending.size} epoch job(s) queued or running, last_synced_epoch = ${lastSynced}; ` +
          `rerun to commit their results and queue epochs ${next}..${target}`
      )
      return { target: undefined, epochs: t.epochs, blocks: t.blocks } satisfies BackfillResult
    }
    const synced = yield* store.getLastSyncedEpoch()
    if (synced === undefined || synced < target) return yield* Effect.fail(new OrderingStalled({ lastSynced: synced ?? null, target }))
    yield* Effect.logInfo(`Distributed backfill complete: epochs ${start}..${target}, ${t.blocks} blocks`)
    return { target, epochs: t.epochs, blocks: t.blocks } satisfies BackfillResult
  }))

/** The flag values `runDistributedBackfill` reads (a subset of the backfill command's flags). */
export interface DistributedFlagValues {
  readonly detach: boolean
  readonly queue: Option.Option<string>
  readonly concurrency: Option.Option<number>
  readonly format: WireFormat
}

/**
 * For the backfill command: `(flags.distributed ? runDistributedBackfill(flags) : backfill)(sink, options)`.
 * Takes the queue's location (--queue, HECATE_QUEUE_PREFIX) and the Redis URL from the run's
 * settings (HecateConfig); `--concurrency` becomes the number of epochs queued or running at once.
 */
export const runDistributedBackfill = (flags: DistributedFlagValues) => (sink: BlockSink, options: BackfillOptions) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const queue = yield* queueSettings(Option.getOrUndefined(flags.queue), settings.queuePrefix, { url: Redacted.value(settings.redisUrl) })
    // the run this backfill is recorded as (its log lines carry its id)
    const runId = (yield* Effect.service(References.CurrentLogAnnotations))["run"]
    return yield* distributedBackfill(sink, options, {
      queue,
      ...(typeof runId === "string" ? { run: { id: runId, prefix: settings.runsPrefix } } : {}),
      detach: flags.detach,
      format: flags.format,
      ...Option.match(flags.concurrency, { onNone: () => ({}), onSome: (maxInFlight) => ({ maxInFlight }) }),
      ...(settings.distributedPollMs > 0 ? { pollInterval: Duration.millis(settings.distributedPollMs) } : {})
    })
  })

