/**
 * `hecate consume --group G`: the downstream half as a command (docs/consumer.md). Prints the
 * chain as one sequence, history then relay, read through the consumer group G.
 *
 * Where an item counts as delivered (and is acknowledged):
 * - stdout (default): once its line is written to stdout. A pipe cannot tell what its reader
 *   read: when the reader closes it early (`| head`), the lines still in the pipe or the reader's
 *   buffer were acknowledged but never read. The run then ends quietly (exit 0) with one stderr
 *   line saying so; `--max N` (exactly N items, acknowledged, then exit 0) is the safe sample.
 * - `--out FILE`: once its line is appended and on disk (fdatasync), exactly once across
 *   restarts of the group (./consume-file.ts).
 * A progress line (log, on stderr) every HECATE_PROGRESS_INTERVAL_MS (10 s): items, items/s, the
 * height reached and the group's lag; the run is recorded in the run history, items count in
 * `hecate_blocks_relayed_total` and the lag in `hecate_consumer_group_lag` (command `consume`),
 * served with --http-port. Only the settings it uses are read (a bad OGMIOS_ENDPOINTS, say,
 * cannot stop it).
 */
import { hostname } from "node:os"
import { Console, Effect, Option, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { handleStdoutErrors, isOutputClosed } from "../cli/process.js"
import { runCommand } from "../cli/command.js"
import { configFlag, intFlag, logFormatFlag } from "../config/flags.js"
import type { SettingKey } from "../config/settings.js"
import { isAcknowledged } from "../consumer/acknowledged.js"
import { type ChainItem, consumeStream, registerGroup } from "../consumer/consume.js"
import { ConsumerError } from "../consumer/errors.js"
import { groupPosition } from "../consumer/group-position.js"
import { nameProblem } from "../consumer/names.js"
import { unregisterGroup } from "../consumer/unregister.js"
import { stringify } from "../json/lossless.js"
import { makeConnection } from "../layers/RedisLive.js"
import { observabilityFlags, observeRun, runParameters, Telemetry } from "../observability/index.js"
import { SinkError } from "../sinks/Sink.js"
import { HecateConfig, InvalidConfiguration } from "../services/HecateConfig.js"
import { type FileSink, OutFileProblem, openFileSink } from "./consume-file.js"

export const CONSUME_SINKS = ["jsonl", "cli"] as const
export const CONSUME_SOURCES = ["both", "history", "relay"] as const

/** The settings `consume` reads (its run record and HTTP server included); the others are not validated. */
export const CONSUME_SETTINGS: ReadonlyArray<SettingKey> = [
  "redisUrl", "relayPrefix", "historyPrefix", "progressIntervalMs", "logLevel", "logFormat",
  "runsPrefix", "runsKeep", "httpHost", "healthMaxDistance"
]

/** The pipe buffer of Linux (64 KiB): the most a closed pipe can have held unread, besides its reader's own buffer. */
const PIPE_BUFFER = 64 * 1024

const named = (kind: "group" | "consumer") => (flag: Flag.Flag<string>) =>
  flag.pipe(Flag.filter((name) => nameProblem(kind, name) === undefined, (name) => `--${kind}: ${nameProblem(kind, name)}`))

const flags = {
  group: Flag.String("group").pipe(named("group"), Flag.withDescription("Consumer group (created at 0 on first use; acks are per group)")),
  consumer: Flag.String("consumer").pipe(
    named("consumer"),
    Flag.withDescription("Consumer name within the group (default: the host name); keep it stable across restarts to resume in order"),
    Flag.optional
  ),
  sink: Flag.Literals("sink", CONSUME_SINKS).pipe(Flag.withDescription("jsonl: one JSON object per item; cli: one short line per item (stdout only)"), Flag.withDefault<(typeof CONSUME_SINKS)[number]>("jsonl")),
  source: Flag.Literals("source", CONSUME_SOURCES).pipe(
    Flag.withDescription("both: the epoch streams then the relay (sync/serve), history: a backfill only, relay: a relay only"),
    Flag.withDefault<(typeof CONSUME_SOURCES)[number]>("both")
  ),
  redisPrefix: Flag.String("redis-prefix").pipe(Flag.withDescription("Relay key prefix (default HECATE_RELAY_PREFIX, hecate:relay:)"), Flag.optional),
  historyPrefix: Flag.String("history-prefix").pipe(Flag.withDescription("Epoch-stream key prefix (default HECATE_HISTORY_PREFIX, hecate:history:)"), Flag.optional),
  max: Flag.Int("max").pipe(
    Flag.filter((n) => Number.isSafeInteger(n) && n >= 1, (n) => `--max must be an integer >= 1, got ${n} — e.g. --max 5`),
    Flag.withDescription(
      "Stop after exactly N items, each written and acknowledged, and exit 0: the safe way to take a sample (not `| head`). " +
        "The group stays registered and holds back the producers (the relay pauses past --max-lag) until it reads on or is removed with --unregister"
    ),
    Flag.optional
  ),
  out: Flag.String("out").pipe(
    Flag.withDescription("Append the jsonl lines to FILE, each on disk (fdatasync) before it is acknowledged; exactly once across restarts (one file per group)"),
    Flag.optional
  ),
  acceptGap: Flag.Boolean("accept-gap").pipe(
    Flag.withDescription("With --out: continue although the group has acknowledged items after the file's last line (the file lost lines), leaving that hole in it"),
    Flag.withDefault(false)
  ),
  fromAvailable: Flag.Boolean("from-available").pipe(
    Flag.withDescription("A group new to a history whose first epochs were already cleaned up starts at the first epoch left (with a warning) instead of exiting 2"),
    Flag.withDefault(false)
  ),
  inFlight: intFlag("in-flight").pipe(Flag.withDescription("Items handed out and not acknowledged at most"), Flag.withDefault(16)),
  claimIdle: Flag.Int("claim-idle-ms").pipe(
    Flag.filter((n) => Number.isSafeInteger(n) && n >= 0, (n) => `--claim-idle-ms must be an integer >= 0, got ${n} — e.g. --claim-idle-ms 60000`),
    Flag.withDescription("Entries another consumer of the group left pending this long are claimed (XAUTOCLAIM)"),
    Flag.withDefault(60_000)
  ),
  registerOnly: Flag.Boolean("register-only").pipe(
    Flag.withDescription("Only register the group (in the history's registry and on events/final at 0), then exit: run it for every group before the producer starts"),
    Flag.withDefault(false)
  ),
  unregister: Flag.Boolean("unregister").pipe(
    Flag.withDescription("Remove the group (from events/final, every epoch stream and the history's registry, with its batch progress), then exit: a group nobody reads holds back the producers"),
    Flag.withDefault(false)
  ),
  config: configFlag,
  logFormat: logFormatFlag,
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

/**
 * Writes a line to stdout: true once written, false when the reader closed the pipe (EPIPE);
 * any other failure (a full disk behind `> file`: ENOSPC) fails the run. The line's item is not
 * acknowledged either way.
 */
const writeLine = (line: string) =>
  Effect.callback<boolean, SinkError>((resume) => {
    const done = (error: unknown) => {
      if (error === undefined || error === null) return resume(Effect.succeed(true))
      if ((error as NodeJS.ErrnoException).code === "EPIPE") return resume(Effect.succeed(false))
      resume(Effect.fail(stdoutError(error)))
    }
    try {
      process.stdout.write(`${line}\n`, done)
    } catch (error) {
      done(error)
    }
  })

const stdoutError = (error: unknown) =>
  new SinkError({
    sink: "stdout",
    detail: `cannot write (${error instanceof Error ? error.message : String(error)}) — the item was not acknowledged, ` +
      `the group's next run starts at it; free the space (or give a writable output), or use --out FILE`,
    cause: error
  })

type Flags = Command.Command.Config.Infer<typeof flags>

const run = (f: Flags) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    if (Option.isSome(f.out) && f.sink === "cli") {
      return yield* new InvalidConfiguration({ variable: "--out", message: "--out writes jsonl lines (its exactly-once resume reads them back): drop --sink cli" })
    }
    const connection = yield* makeConnection({ url: settings.redisUrl, connectionName: "hecate-consume" })
    const history = f.source === "relay" ? undefined : Option.getOrElse(f.historyPrefix, () => settings.historyPrefix)
    const relay = f.source === "history" ? undefined : Option.getOrElse(f.redisPrefix, () => settings.relayPrefix)
    const context = yield* Effect.context<never>()
    const log = (level: "info" | "warn", message: string) =>
      void Effect.runForkWith(context)(level === "warn" ? Effect.logWarning(message) : Effect.logInfo(message))
    const common = { redis: connection.client, history, relay, group: f.group, fromAvailable: f.fromAvailable, log }
    if (f.unregister) {
      if (f.registerOnly) return yield* new InvalidConfiguration({ variable: "--unregister", message: "--unregister and --register-only exclude each other: give one" })
      const done = yield* Effect.tryPromise({
        try: () => unregisterGroup(connection.client, { history, relay, group: f.group }),
        catch: (error) => new ConsumerError({ reason: "Redis", detail: error instanceof Error ? error.message : String(error) })
      })
      yield* Console.error(
        `consume: unregistered group ${f.group}: removed from ${done.streams} stream${done.streams === 1 ? "" : "s"}` +
          `${history === undefined ? "" : `${done.registered ? " and" : ","} ${done.registered ? "from" : "not in"} the registry of ${history}`}` +
          ` — it no longer holds back the producers; reading it again starts it over`
      )
      return
    }
    if (f.registerOnly) {
      yield* Effect.tryPromise({
        try: () => registerGroup(common),
        catch: (error) => error instanceof ConsumerError ? error : new ConsumerError({ reason: "Redis", detail: error instanceof Error ? error.message : String(error) })
      })
      yield* Effect.logInfo(`registered group ${f.group}${history === undefined ? "" : ` for ${history}`}${relay === undefined ? "" : ` and ${relay}`}`)
      return
    }
    const max = Option.getOrUndefined(f.max)
    const outPath = Option.getOrUndefined(f.out)
    let sink: FileSink | undefined
    if (outPath !== undefined) {
      sink = yield* Effect.tryPromise({
        try: () => openFileSink(outPath, (item) => isAcknowledged(connection.client, { history, group: f.group }, item)),
        catch: (error) =>
          error instanceof OutFileProblem
            ? new InvalidConfiguration({ variable: "--out", message: error.message })
            : new ConsumerError({ reason: "Redis", detail: error instanceof Error ? error.message : String(error) })
      })
      const opened = sink
      yield* Effect.addFinalizer(() => Effect.promise(() => opened.close().catch(() => undefined)))
      yield* checkFileHoldsGroup(connection.client, { history, relay, group: f.group, consumer: Option.getOrElse(f.consumer, () => hostname()) }, outPath, sink, f.acceptGap)
      if (sink.cut > 0) yield* Effect.logWarning(`--out ${outPath}: cut off an incomplete last line (${sink.cut} bytes) left by a run stopped mid-write; its item was not acknowledged and is written again`)
      if (sink.written.size > 0) yield* Effect.logInfo(`--out ${outPath}: its last ${sink.written.size} lines were written without their acknowledgement reaching Redis; those items are acknowledged now, not written again`)
    }
    // a failed write of a data line is reported by writeLine, as one line (not the stream's uncaught error)
    if (sink === undefined) handleStdoutErrors()
    const { live } = yield* Telemetry
    const started = Date.now()
    let items = 0
    let acknowledged = 0
    let height = -1
    // stdout: bytes written after each acknowledged line, to tell how many a closed pipe may have held unread
    let bytes = 0
    const ends: Array<number> = []
    let lastAck: Promise<boolean> = Promise.resolve(true)
    let stdoutClosed = false
    const progress = Effect.gen(function*() {
      for (;;) {
        yield* Effect.sleep(settings.progressIntervalMs)
        const seconds = (Date.now() - started) / 1000
        const lag = relay === undefined ? undefined : yield* Effect.promise(() => groupLag(connection.client, `${relay}events`, f.group))
        if (lag !== undefined) live.observeLag("consume", lag)
        yield* Effect.logInfo(
          `consume ${f.group}: ${items} items (${(items / seconds).toFixed(1)}/s), height ${height}` +
            `${lag === undefined ? "" : `, events lag ${lag}`}`
        )
      }
    })
    yield* Effect.forkScoped(progress)
    const ack = (item: ChainItem) => {
      const done = item.ack()
      lastAck = done
      void done.then((ok) => {
        if (ok) acknowledged++
      })
      return done
    }
    // the reader of stdout went away: say once what that cost and how to avoid it (stderr may be gone too)
    const closedNotice = Effect.suspend(() => {
      if (sink !== undefined || !(stdoutClosed || isOutputClosed())) return Effect.void
      return Effect.promise(() => Promise.race([lastAck, new Promise((r) => setTimeout(r, 2_000))])).pipe(
        Effect.andThen(() => {
          const unread = ends.filter((end) => end > bytes - PIPE_BUFFER).length
          return Console.error(
            `consume: the reader closed stdout after ${acknowledged} items were written and acknowledged for group ${f.group}; ` +
              `an item counts as delivered once written, so any it had not read yet are not delivered again ` +
              `(here up to the last ${unread}, what a pipe's 64 KiB buffer held, plus what the reader had buffered itself). ` +
              `Take a sample with --max N, or write to a durable sink with --out FILE.`
          )
        })
      )
    })
    yield* Effect.addFinalizer(() => closedNotice)
    yield* consumeStream({
      ...common,
      consumer: Option.getOrElse(f.consumer, () => hostname()),
      inFlight: max === undefined ? f.inFlight : Math.min(f.inFlight, max),
      claimIdleMs: f.claimIdle
    }).pipe(
      Stream.runForEachWhile((item) =>
        Effect.gen(function*() {
          if (sink !== undefined && sink.written.delete(item.id)) {
            // on disk already, from a run whose acknowledgement did not reach Redis
            yield* Effect.promise(() => ack(item))
            return true
          }
          const line = formatItem(item, f.sink)
          if (sink !== undefined) {
            const file = sink
            yield* Effect.tryPromise({
              try: () => file.append(line),
              catch: (error) => new SinkError({ sink: "--out", detail: `cannot write ${outPath}: ${error instanceof Error ? error.message : String(error)}`, cause: error })
            })
          } else if (!(yield* writeLine(line))) {
            stdoutClosed = true
            return false
          } else {
            bytes += Buffer.byteLength(line) + 1
            ends.push(bytes)
            if (ends.length > 4096) ends.splice(0, ends.length - 4096)
          }
          items++
          height = item.point.height
          live.observeBlocks("consume", 1, 0)
          if (max !== undefined && items >= max) {
            // exactly N: the last one's acknowledgement is committed before the run ends
            yield* Effect.promise(() => ack(item))
            return false
          }
          void ack(item)
          return true
        })
      )
    )
    yield* Effect.promise(() => lastAck)
  }).pipe(
    Effect.scoped,
    observeRun({
      command: "consume",
      parameters: runParameters(f),
      http: { port: f.httpPort, host: f.httpHost },
      relayPrefix: f.source === "history" ? undefined : Option.getOrUndefined(f.redisPrefix),
      historyPrefix: f.source === "relay" ? undefined : Option.getOrUndefined(f.historyPrefix)
    }),
    Effect.provide(Telemetry.layer),
    runCommand({
      overrides: { configFile: Option.getOrUndefined(f.config), logFormat: Option.getOrUndefined(f.logFormat) },
      only: CONSUME_SETTINGS,
      failure: "Consume failed",
      failuresTo: "stderr"
    })
  )

/**
 * `--out`: the file must reach as far as the group acknowledged. A file that lost lines (cut,
 * restored from an older backup, or a new one for a group that has read before) would keep a
 * hole: the group never hands those items out again. Refused (exit 2) unless `--accept-gap`.
 * With other consumers in the group each file holds only its consumer's share: not comparable.
 */
const checkFileHoldsGroup = (
  redis: import("ioredis").Redis,
  options: { readonly history: string | undefined; readonly relay: string | undefined; readonly group: string; readonly consumer: string },
  outPath: string,
  sink: FileSink,
  acceptGap: boolean
) =>
  Effect.gen(function*() {
    const acked = yield* Effect.tryPromise({
      try: () => groupPosition(redis, options),
      catch: (error) => new ConsumerError({ reason: "Redis", detail: error instanceof Error ? error.message : String(error) })
    })
    const others = [...acked.consumers].filter((c) => c !== options.consumer)
    if (others.length > 0) {
      yield* Effect.logInfo(`--out ${outPath}: group ${options.group} has other consumers (${others.join(", ")}): the file holds only this consumer's share, not compared with the group's acknowledged position`)
      return
    }
    if (acked.position === undefined || (sink.lastPosition !== undefined && acked.position <= sink.lastPosition)) return
    const where = sink.lastPosition === undefined ? "is empty" : `ends at position ${sink.lastPosition}`
    const problem = `--out ${outPath} ${where}, but group ${options.group} has acknowledged up to position ${acked.position}: ` +
      `the lines in between are missing from the file (truncated, restored from an older backup, or a new file for a group that has read before) and the group will not hand them out again`
    if (acceptGap) {
      yield* Effect.logWarning(`${problem}; continuing with that hole (--accept-gap)`)
      return
    }
    return yield* new InvalidConfiguration({
      variable: "--out",
      message: `${problem}. Restore the file that holds them, or start a new file with a new group (--group); --accept-gap continues with the hole`
    })
  })

export const consumeCommand = Command.make("consume", flags, run).pipe(
  Command.withDescription(
    "Print the chain (epoch streams, then the relay's events and finals) through a consumer group. " +
      "On stdout an item counts as delivered once written: if the reader closes the pipe early (| head), what it had not read is not delivered again — " +
      "take a sample with --max N, or use --out FILE (on disk before acknowledged, exactly once)"
  )
)

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
