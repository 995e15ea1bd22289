/**
 * `hecate status`: a read-only report, in the terminal, of what the dashboard shows: the
 * epoch-stream namespace's progress (the Python Hecate's table), backpressure, every consumer group of
 * the epoch streams and of the relay's `events` / `final` with its lag and what it holds back, the
 * relay's state and distance to the tip, Redis, and the latest runs. `--json` prints the same as
 * one object (the Python Hecate's fields at the top level, as before).
 */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { makeEpochStore } from "../backfill/store/EpochStore.js"
import { runCommand } from "../cli/command.js"
import { configFlag } from "../config/flags.js"
import { HecateConfig } from "../services/HecateConfig.js"
import { RedisLive } from "../layers/RedisLive.js"
import { readOverview } from "../observability/overview.js"
import { makeRunHistory, type RunRecord, settle } from "../observability/runs.js"
import { statusText } from "../observability/status-view.js"
import { Redis } from "../services/Redis.js"

/** The most one read of `status` waits for Redis. */
const STATUS_TIMEOUT_MS = 5_000

const flags = {
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Key prefix (default hecate:history:)"), Flag.optional),
  relayPrefix: Flag.String("relay-prefix").pipe(Flag.withDescription("Relay key prefix (default HECATE_RELAY_PREFIX, hecate:relay:)"), Flag.optional),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print the status as JSON"), Flag.withDefault(false)),
  config: configFlag
}

export const statusCommand = Command.make("status", flags, ({ redisPrefix, relayPrefix, json, config }) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    const prefix = Option.getOrElse(redisPrefix, () => settings.historyPrefix)
    const relay = Option.getOrElse(relayPrefix, () => settings.relayPrefix)
    const { status, overview, runs } = yield* Effect.gen(function*() {
      const redis = yield* Redis
      const status = yield* makeEpochStore(redis, { prefix }).status()
      const overview = yield* redis.use((c) => readOverview(c, { historyPrefix: prefix, relayPrefix: relay }), "reading the overview")
      // the latest runs are extra: a history that cannot be read leaves them out
      const runs: Array<RunRecord> = yield* makeRunHistory(redis, { prefix: settings.runsPrefix }).list(5).pipe(Effect.orElseSucceed(() => []))
      return { status, overview, runs }
      // every read has a time limit: a Redis that does not answer (frozen) is reported, not waited on
    }).pipe(Effect.provide(RedisLive.lazy({ url: settings.redisUrl, connectionName: "hecate-status", timeoutMs: STATUS_TIMEOUT_MS })))
    const relayUsed = overview.relay !== undefined && (overview.relay.state !== undefined || overview.relay.streams.some((s) => s.length > 0))
    if (json) {
      return yield* Console.log(JSON.stringify({
        ...status,
        epochs: overview.epochs,
        relay: relayUsed ? overview.relay : undefined,
        redis: overview.redis,
        maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs,
        runs: runs.map((r) => ({ ...settle(r), shownState: settle(r).state }))
      }))
    }
    yield* Console.log(statusText({ prefix, status, overview, relayUsed, runs, maxUnconsumedEpochs: settings.redisMaxUnconsumedEpochs }))
  }).pipe(runCommand({ overrides: { configFile: Option.getOrUndefined(config) }, failure: "Status unavailable" }))
).pipe(Command.withDescription("Show the backfill's progress, consumer groups and their lag, the relay and Redis (read-only)"))
