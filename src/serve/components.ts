/**
 * The children of `serve` and their restart policies:
 *
 * | component | runs                                              | restart policy                                              |
 * |-----------|---------------------------------------------------|-------------------------------------------------------------|
 * | relay     | sync (backfill, then relay) or the relay alone    | Redis / Ogmios unreachable: start over after 250 ms … 5 s, forever; anything else escalates |
 * | refresh   | the refresh schedule (local, or once per cluster) | never: each run retries itself and a failed run waits for the next tick, so the loop never fails |
 * | http      | dashboard, /health, /metrics                      | never: a port that cannot be bound is a setting to fix      |
 *
 * The relay's run record spans its restarts: one `relay` run per serve process, as `hecate runs` shows.
 */
import { availableParallelism } from "node:os"
import { resolve } from "node:path"
import { Cause, type Cron, Duration, Effect, Exit, Layer, Option, Redacted, Schedule, type Scope } from "effect"
import type { QueueError } from "../distributed/EpochQueue.js"
import { defaultConcurrency } from "../config/settings.js"
import { clusterSchedule } from "../distributed/schedule.js"
import { bullPrefix } from "../distributed/settings.js"
import { makeLazy, RedisLive } from "../layers/RedisLive.js"
import {
  describeFailure,
  instrumentRelayStore,
  type LiveState,
  makeHealthChecker,
  observabilityServer,
  type RunHistoryShape,
  RunRecorder,
  withRunLog
} from "../observability/index.js"
import type { ConnectionLost, RequestTimeout } from "../ogmios/errors.js"
import { describeCommit, type RefreshReport, runRefreshJob } from "../refresh/job.js"
import { describeRefresh } from "../refresh/refresh.js"
import { makeRefreshScheduler, type RefreshScheduler } from "../refresh/schedule.js"
import { refreshTrigger } from "../refresh/service.js"
import { relayKeys } from "../relay/keys.js"
import { relay } from "../relay/relay.js"
import { ogmiosRelaySource } from "../relay/source.js"
import { RelayStore } from "../relay/RelayStore.js"
import { syncThenRelay } from "../relay/sync.js"
import { OgmiosConnector, type OgmiosConnectorShape } from "../services/OgmiosConnector.js"
import { Redis, type RedisError } from "../services/Redis.js"
import type { ServeOptions } from "./options.js"
import * as RestartPolicy from "./restart-policy.js"
import { component } from "./supervisor.js"

/** What every component of one serve process shares: its run history, live state and Ogmios connection. */
export interface ServeEnv {
  readonly runs: RunHistoryShape
  readonly live: LiveState
  readonly connector: OgmiosConnectorShape
}

/** Redis or Ogmios not reachable (yet), or gone: what the relay starts over after. */
export type Unreachable = RedisError | ConnectionLost | RequestTimeout

export const isUnreachable = <E extends { readonly _tag: string }>(error: E): error is Extract<E, Unreachable> =>
  error._tag === "RedisError" || error._tag === "ConnectionLost" || error._tag === "RequestTimeout"

/** The relay's restart policy: capped exponential backoff while Redis or Ogmios is unreachable. */
export const relayRestart = <E extends { readonly _tag: string }>(live: LiveState) =>
  RestartPolicy.backoff<E>({
    while: isUnreachable,
    base: "250 millis",
    cap: "5 seconds",
    // /health and the dashboard say why the relay is down until its next start connects
    onRestart: (error) =>
      Effect.sync(() => {
        live.relay.connection = "down"
        live.relay.lastError = describeFailure(Cause.fail(error))
      })
  })

/** The relay (fresh prefix: sync, or `relayStart`; else the stored cursor), instrumented for the metrics. */
export const relayComponent = (options: ServeOptions, { runs, live, connector }: ServeEnv) => {
  const { settings, file } = options
  const prefix = settings.relayPrefix
  const redisLayer = RedisLive.layer({ url: settings.redisUrl, connectionName: "hecate-serve" })
  const layers = Layer.mergeAll(
    connector.layer("forever"),
    instrumentRelayStore(RelayStore.layer({ prefix, ...(file.relay?.retain === undefined ? {} : { retain: file.relay.retain }) }))
      .pipe(Layer.provideMerge(redisLayer))
  )
  // the same settings as sync's backfill (HECATE_BACKFILL_CONCURRENCY, HECATE_EPOCH_RETRIES, …)
  const backfill = {
    concurrency: Option.getOrElse(settings.backfillConcurrency, () => defaultConcurrency(availableParallelism())),
    retries: settings.epochRetries,
    retryDelaySeconds: settings.epochRetryDelaySeconds
  }
  const session = Effect.gen(function*() {
    const redis = yield* Redis
    const hasCursor = (yield* redis.use((c) => c.exists(relayKeys(prefix).cursor), "EXISTS cursor")) === 1
    const depth = Option.getOrUndefined(settings.relayDepth)
    const connection = connector.follower("forever")
    const relayOptions = {
      ...connection,
      source: ogmiosRelaySource(connection),
      ...(depth === undefined ? {} : { depth }),
      ...(file.relay?.format === undefined ? {} : { format: file.relay.format }),
      ...(file.relay?.maxLag === undefined ? {} : { maxLag: file.relay.maxLag })
    }
    if (hasCursor || options.relayStart !== undefined) {
      return yield* relay({ ...relayOptions, from: hasCursor ? "cursor" : options.relayStart! })
    }
    // a fresh prefix: backfill the finalized epochs, then relay from the block after them
    return yield* syncThenRelay({
      relay: relayOptions,
      historyPrefix: settings.historyPrefix,
      epochCachePath: settings.epochCachePath,
      backfill: {
        ...backfill,
        batchSize: settings.batchSize,
        retryDelay: `${backfill.retryDelaySeconds} seconds`,
        maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs
      }
    }).pipe(Effect.provideService(OgmiosConnector, connector))
  }).pipe(Effect.provide(layers))

  const recorder = new RunRecorder(runs, {
    command: "relay",
    prefix,
    parameters: {
      via: "serve",
      prefix,
      relayStart: options.relayStart ?? "sync",
      endpoints: settings.ogmiosEndpoints,
      // a fresh prefix starts with this backfill: recorded with the run, as sync's flags are
      ...(options.relayStart === undefined ? { backfill } : {})
    }
  }, () => live.blocks)
  recorder.start()
  return {
    recorder,
    component: component({
      name: "relay",
      run: session,
      restart: relayRestart(live),
      lifetime: (supervised) =>
        supervised.pipe(
          withRunLog(recorder),
          Effect.annotateLogs({ run: recorder.id }),
          Effect.onExit((exit) =>
            Effect.promise(() =>
              Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)
                ? recorder.finish("Cancelled")
                : recorder.finish("Failed", describeFailure(exit.cause))
            )
          )
        )
    })
  }
}

/** One refresh run, recorded in the run history. */
const refreshJob = (options: ServeOptions, { runs, connector }: ServeEnv) =>
  Effect.suspend(() => {
    const { settings, file } = options
    const recorder = new RunRecorder(runs, {
      command: "refresh",
      parameters: {
        via: "serve",
        trigger: options.refreshInterval === undefined ? settings.refreshCron : options.refreshInterval.text,
        commit: file.refresh?.commit ?? false
      }
    })
    recorder.start()
    return runRefreshJob({
      dataDir: file.refresh?.dataDir === undefined ? undefined : resolve(file.refresh.dataDir),
      cachePath: resolve(settings.epochCachePath),
      commit: file.refresh?.commit
    }).pipe(
      Effect.provideService(OgmiosConnector, connector),
      withRunLog(recorder),
      Effect.annotateLogs({ run: recorder.id }),
      Effect.onExit((exit) =>
        Effect.promise(() =>
          Exit.isSuccess(exit)
            ? recorder.finish("Completed")
            : recorder.finish(Cause.hasInterruptsOnly(exit.cause) ? "Cancelled" : "Failed", describeFailure(exit.cause))
        )
      )
    )
  })

/** This instance's refresh schedule (overlap skipped, backoff retries); its status feeds /health. */
export const makeServeRefreshScheduler = (options: ServeOptions, env: ServeEnv): Effect.Effect<RefreshScheduler> =>
  makeRefreshScheduler(refreshJob(options, env), {
    trigger: refreshTrigger(options.settings, options.refreshInterval?.every),
    runOnStart: options.file.refresh?.runOnStart,
    retry: options.file.refresh?.retries === undefined ? undefined : { times: options.file.refresh.retries },
    describe: (r) => {
      const report = r as RefreshReport
      return describeRefresh(report.result) + (report.commit !== undefined ? ` ${describeCommit(report.commit)}` : "")
    }
  })

/**
 * The refresh: this instance's schedule, or with `refreshCluster` one run per tick across every
 * instance on the same Redis (a BullMQ job scheduler), each run retried with backoff.
 */
export const refreshComponent = (options: ServeOptions, env: ServeEnv, scheduler: RefreshScheduler) => {
  const { settings } = options
  const interval = options.refreshInterval?.every
  const cluster = clusterSchedule(
    {
      id: "hecate-refresh",
      ...(interval === undefined ? { pattern: settings.refreshCron } : { every: Duration.toMillis(interval) }),
      connection: { url: Redacted.value(settings.redisUrl) },
      prefix: bullPrefix(settings.queuePrefix)
    },
    () => refreshJob(options, env).pipe(Effect.retry(Schedule.exponential("10 seconds").pipe(Schedule.jittered, Schedule.upTo({ times: 4 }))))
  ).pipe(Effect.andThen(Effect.never))
  const run: Effect.Effect<never, QueueError | Cron.CronParseError, Scope.Scope> = options.refreshCluster ? cluster : scheduler.run
  return component({
    name: "refresh",
    run,
    restart: RestartPolicy.never
  })
}

/** HTTP: the dashboard, /health (with the refresh's status), /metrics, /api/state; closed with its scope. */
export const httpComponent = (options: ServeOptions, { runs, live }: ServeEnv, scheduler: RefreshScheduler) => {
  const { settings } = options
  return component({
    name: "http",
    run: Effect.gen(function*() {
      // a lazy connection of its own: /health answers 503 while Redis is down (at start too) and
      // 200 again once it is back, never waiting behind the relay's writes
      const health = yield* makeHealthChecker({
        live,
        endpoints: settings.ogmiosEndpoints,
        relayPrefix: settings.relayPrefix,
        maxDistance: settings.healthMaxDistance
      }).pipe(Effect.provideServiceEffect(Redis, makeLazy({ url: settings.redisUrl, connectionName: "hecate-health", timeoutMs: 1_000 })))
      const context = yield* Effect.context<never>()
      const server = yield* observabilityServer({
        host: settings.httpHost,
        port: settings.httpPort,
        health,
        runs,
        historyPrefix: settings.historyPrefix,
        portVariable: "HECATE_HTTP_PORT",
        extraHealth: async () => ({
          refresh: options.refresh ? await Effect.runPromiseWith(context)(scheduler.status) : { enabled: false }
        })
      })
      yield* Effect.logInfo(`serve: ${server.url} (dashboard /, GET /health, GET /metrics)`)
      return yield* Effect.never
    }).pipe(Effect.scoped),
    restart: RestartPolicy.never
  })
}
