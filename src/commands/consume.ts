/**
 * `hecate consume --group G`: the downstream half as a command (docs/consumer.md). Prints the
 * chain as one sequence, history then relay, read through the consumer group G: each item is
 * acknowledged once its line is written to stdout (so a pipe that stops reading stops the
 * consumer, and what was not printed is read again by the next run of the same --consumer).
 * A progress line (log, on stderr) every HECATE_PROGRESS_INTERVAL_MS (10 s): items, items/s, the height reached and the group's
 * lag; the run is recorded in the run history, items count in `hecate_blocks_relayed_total` and
 * the lag in `hecate_consumer_group_lag` (command `consume`), served with --http-port.
 */
import { hostname } from "node:os"
import { Effect, Option, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { loggingLayer } from "../cli/logging.js"
import { reportExpectedFailures } from "../cli/report.js"
import { configFlag } from "../config/flags.js"
import { type ChainItem, consumeStream, registerGroup } from "../consumer/consume.js"
import { ConsumerError } from "../consumer/errors.js"
import { stringify } from "../json/lossless.js"
import { HecateConfigLive } from "../layers/HecateConfigLive.js"
import { makeConnection } from "../layers/RedisLive.js"
import { observabilityFlags, observeBlocks, observeLag, observeRun, runParameters } from "../observability/index.js"

export const CONSUME_SINKS = ["jsonl", "cli"] as const
export const CONSUME_SOURCES = ["both", "history", "relay"] as const

const flags = {
  group: Flag.String("group").pipe(Flag.withDescription("Consumer group (created at 0 on first use; acks are per group)")),
  consumer: Flag.String("consumer").pipe(
    Flag.withDescription("Consumer name within the group (default: the host name); keep it stable across restarts to resume in order"),
    Flag.optional
  ),
  sink: Flag.Literals("sink", CONSUME_SINKS).pipe(Flag.withDescription("jsonl: one JSON object per item; cli: one short line per item"), Flag.withDefault<(typeof CONSUME_SINKS)[number]>("jsonl")),
  source: Flag.Literals("source", CONSUME_SOURCES).pipe(
    Flag.withDescription("both: the epoch streams then the relay (sync/serve), history: a backfill only, relay: a relay only"),
    Flag.withDefault<(typeof CONSUME_SOURCES)[number]>("both")
  ),
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Relay key prefix (default HECATE_RELAY_PREFIX, hecate:relay:)"), Flag.optional),
  historyPrefix: Flag.String("history-prefix").pipe(Flag.withDescription("Epoch-stream key prefix (default HECATE_HISTORY_PREFIX, hecate:history:)"), Flag.optional),
  inFlight: Flag.Int("in-flight").pipe(Flag.withDescription("Items handed out and not acknowledged at most"), Flag.withDefault(16)),
  claimIdle: Flag.Int("claim-idle-ms").pipe(
    Flag.withDescription("Entries another consumer of the group left pending this long are claimed (XAUTOCLAIM)"),
    Flag.withDefault(60_000)
  ),
  registerOnly: Flag.Boolean("register-only").pipe(
    Flag.withDescription("Only register the group (in the history's registry and on events/final at 0), then exit: run it for every group before the producer starts"),
    Flag.withDefault(false)
  ),
  config: configFlag,
  logFormat: Flag.Literals("log-format", ["pretty", "json"] as const).pipe(Flag.optional),
  ...observabilityFlags
}

/** One line of output per item. */
export const formatItem = (item: ChainItem, sink: (typeof CONSUME_SINKS)[number]): string => {
  const { point } = item
  if (sink === "cli") {
    const tag = item._tag === "Apply" ? "apply" : item._tag === "Undo" ? "undo " : "final"
    return `${tag} ${String(point.height).padStart(9)} ${point.slot}.${point.id} (${item.source})`
  }
  const head = { type: item._tag.toLowerCase(), slot: point.slot, height: point.height, hash: point.id, source: item.source, id: item.id, position: item.position }
  return stringify(item._tag === "Final" ? head : { ...head, block: item.block })
}

const writeLine = (line: string) =>
  Effect.callback<void>((resume) => {
    process.stdout.write(`${line}\n`, () => resume(Effect.void))
  })

export const consumeCommand = Command.make("consume", flags, (f) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfigLive.load({ configFile: Option.getOrUndefined(f.config) })
    const connection = yield* makeConnection({ url: settings.redisUrl, connectionName: "hecate-consume" })
    const history = f.source === "relay" ? undefined : Option.getOrElse(f.historyPrefix, () => settings.historyPrefix)
    const relay = f.source === "history" ? undefined : Option.getOrElse(f.redisPrefix, () => settings.relayPrefix)
    if (f.registerOnly) {
      yield* Effect.tryPromise({
        try: () => registerGroup({ redis: connection.client, history, relay, group: f.group }),
        catch: (error) => new ConsumerError({ reason: "Redis", detail: error instanceof Error ? error.message : String(error) })
      })
      yield* Effect.logInfo(`registered group ${f.group}${history === undefined ? "" : ` for ${history}`}${relay === undefined ? "" : ` and ${relay}`}`)
      return
    }
    const started = Date.now()
    let items = 0
    let height = -1
    const progress = Effect.gen(function*() {
      for (;;) {
        yield* Effect.sleep(settings.progressIntervalMs)
        const seconds = (Date.now() - started) / 1000
        const lag = relay === undefined ? undefined : yield* Effect.promise(() => groupLag(connection.client, `${relay}events`, f.group))
        if (lag !== undefined) observeLag("consume", lag)
        yield* Effect.logInfo(
          `consume ${f.group}: ${items} items (${(items / seconds).toFixed(1)}/s), height ${height}` +
            `${lag === undefined ? "" : `, events lag ${lag}`}`
        )
      }
    })
    yield* Effect.forkScoped(progress)
    yield* consumeStream({
      redis: connection.client,
      history,
      relay,
      group: f.group,
      consumer: Option.getOrElse(f.consumer, () => hostname()),
      inFlight: f.inFlight,
      claimIdleMs: f.claimIdle
    }).pipe(
      Stream.runForEach((item) =>
        writeLine(formatItem(item, f.sink)).pipe(Effect.map(() => {
          items++
          height = item.point.height
          observeBlocks("consume", 1, 0)
          item.ack()
        }))
      )
    )
  }).pipe(
    Effect.scoped,
    observeRun({
      command: "consume",
      parameters: runParameters(f),
      http: { port: f.httpPort, host: f.httpHost },
      relayPrefix: f.source === "history" ? undefined : Option.getOrUndefined(f.redisPrefix),
      historyPrefix: f.source === "relay" ? undefined : Option.getOrUndefined(f.historyPrefix),
      config: Option.getOrUndefined(f.config)
    }),
    reportExpectedFailures("Consume failed"),
    Effect.provide(loggingLayer(Option.getOrElse(f.logFormat, () => "pretty" as const), "Info"))
  )
).pipe(Command.withDescription("Print the chain (epoch streams, then the relay's events and finals) through a consumer group"))

/** The group's lag on a stream (Redis ≥ 7 `lag`), or undefined when unknown. */
const groupLag = async (client: import("ioredis").Redis, key: string, group: string): Promise<number | undefined> => {
  try {
    const groups = (await client.xinfo("GROUPS", key)) as Array<Array<unknown>>
    for (const g of groups) {
      const i = g.indexOf("name")
      if (g[i + 1] !== group) continue
      const lag = g[g.indexOf("lag") + 1]
      return typeof lag === "number" ? lag : undefined
    }
  } catch {
    return undefined
  }
  return undefined
}
