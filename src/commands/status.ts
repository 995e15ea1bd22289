/** `hecate status`: a read-only report on the epoch-stream namespace (the same table as the Python Hecate's). */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { makeEpochStore } from "../backfill/store/EpochStore.js"
import { reportExpectedFailures } from "../cli/report.js"
import { configFlag } from "../config/flags.js"
import { HecateConfigLive } from "../layers/HecateConfigLive.js"
import { RedisLive } from "../layers/RedisLive.js"
import { Redis } from "../services/Redis.js"

const flags = {
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Key prefix (default hecate:history:)"), Flag.optional),
  json: Flag.Boolean("json").pipe(Flag.withDescription("Print the status as JSON"), Flag.withDefault(false)),
  config: configFlag
}

export const statusCommand = Command.make("status", flags, ({ redisPrefix, json, config }) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfigLive.load({ configFile: Option.getOrUndefined(config) })
    const prefix = Option.getOrElse(redisPrefix, () => settings.historyPrefix)
    const status = yield* Effect.gen(function*() {
      const redis = yield* Redis
      return yield* makeEpochStore(redis, { prefix }).status()
    }).pipe(Effect.provide(RedisLive.layer({ url: settings.redisUrl })))
    if (json) return yield* Console.log(JSON.stringify(status))
    const rows = Object.entries(status)
      .filter(([key]) => key !== "ordering_consistent")
      .map(([key, value]) => [key.replaceAll("_", " "), value === null ? "—" : String(value)] as const)
    const width = Math.max(...rows.map(([k]) => k.length), "Metric".length)
    yield* Console.log(`Hecate — ${prefix}`)
    yield* Console.log(`${"Metric".padEnd(width)}  Value`)
    for (const [k, v] of rows) yield* Console.log(`${k.padEnd(width)}  ${v}`)
    if (status.last_synced_epoch === null) yield* Console.log("Nothing relayed here yet.")
    if (!status.ordering_consistent) {
      yield* Console.log(
        `Inconsistent: low_watermark ${status.low_watermark} is above last_synced_epoch + 1 (${status.last_synced_epoch}).`
      )
    }
  }).pipe(reportExpectedFailures("Status unavailable"))
).pipe(Command.withDescription("Show the epoch-stream namespace's progress (read-only)"))
