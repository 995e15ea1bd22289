/**
 * `printChain`: the chain read through a consumer group, one line per item (./lines.ts), each
 * acknowledged once it is delivered — the program of `hecate consume`.
 *
 * Where an item counts as delivered:
 * - a writable (stdout by default): once its line is written. A pipe cannot tell what its reader
 *   read: when the reader closes it early (`| head`), the lines still in the pipe or the reader's
 *   buffer were acknowledged but never read. The run then ends (successfully) with one stderr
 *   line saying so; `max` (exactly N items, acknowledged, then the end) is the safe sample.
 * - `out` (a file): once its line is appended and on disk (fdatasync), exactly once across
 *   restarts of the group (./out-file.ts).
 *
 * A progress line (log) every `progressIntervalMs`: items, items/s, the height reached and the
 * group's lag on the relay's `events`; items count in `hecate_blocks_relayed_total` and the lag
 * in `hecate_consumer_group_lag` (command `consume`).
 */
import { Console, Effect, Stream } from "effect"
import { SinkError } from "../sinks/Sink.js"
import { Telemetry } from "../observability/Telemetry.js"
import { relayKeys } from "../relay/keys.js"
import type { InvalidConfiguration } from "../services/HecateConfig.js"
import { Redis, type RedisError } from "../services/Redis.js"
import { type ChainItem, consumeStream } from "./consume.js"
import type { ConsumerError } from "./errors.js"
import type { FileSink } from "./file-sink.js"
import { groupLag } from "./group-lag.js"
import { formatItem, type LineFormat } from "./lines.js"
import { openOutFile } from "./out-file.js"
import { writeLine } from "./writable.js"

export interface PrintChainOptions {
  /** the epoch-stream prefix to read first (omit for a relay only) */
  readonly history?: string | undefined
  /** the relay prefix (omit for a history only) */
  readonly relay?: string | undefined
  readonly group: string
  /** keep it stable across restarts to resume in order */
  readonly consumer: string
  readonly format: LineFormat
  /** items handed out and not acknowledged at most */
  readonly inFlight: number
  /** entries another consumer of the group left pending this long are claimed */
  readonly claimIdleMs: number
  /** a group new to a history whose first epochs were cleaned up starts at the first one left */
  readonly fromAvailable?: boolean
  /** stop after exactly this many items, each written and acknowledged */
  readonly max?: number | undefined
  /** how often the progress line is logged */
  readonly progressIntervalMs: number
  /** append jsonl lines to this file, each on disk before it is acknowledged, instead of writing to `output` */
  readonly out?: { readonly path: string; readonly acceptGap: boolean } | undefined
  /** where the lines go without `out` (default: stdout) */
  readonly output?: NodeJS.WritableStream
  /**
   * Whether the output's reader is known to have gone away although no write said so yet (the
   * CLI watches stdout and stderr for the whole process); default: only a failed write tells.
   */
  readonly readerGone?: () => boolean
}

/** The pipe buffer of Linux (64 KiB): the most a closed pipe can have held unread, besides its reader's own buffer. */
const PIPE_BUFFER = 64 * 1024

/** Lines at the end of the output remembered to count what a closed pipe may have held unread. */
const REMEMBERED_ENDS = 4096

const watched = new WeakSet<NodeJS.WritableStream>()
/**
 * A failed write is reported by writeLine, through its callback; the 'error' event the stream
 * emits as well (a tick later, maybe after the run ended) would crash the process without a
 * listener. Other listeners (the CLI's watch of stdout) still see it.
 */
const reportedByWrites = (output: NodeJS.WritableStream): void => {
  if (watched.has(output)) return
  watched.add(output)
  output.on("error", () => {})
}

/** How a consumer's waits and warnings reach the run's log. */
export const consumerLog = Effect.map(
  Effect.context<never>(),
  (context) => (level: "info" | "warn", message: string) =>
    void Effect.runForkWith(context)(level === "warn" ? Effect.logWarning(message) : Effect.logInfo(message))
)

/** Prints the chain through the group until it ends, `max` items are acknowledged, or the output's reader goes away. */
export const printChain = (
  options: PrintChainOptions
): Effect.Effect<void, ConsumerError | SinkError | InvalidConfiguration | RedisError, Redis | Telemetry> =>
  Effect.gen(function*() {
    const redis = yield* Redis
    // consume$ reads on its own duplicate of the connection and acknowledges on the connection itself
    const client = yield* redis.use((c) => Promise.resolve(c), "connect")
    const { history, relay, group, max, format } = options
    const output = options.output ?? process.stdout
    let sink: FileSink | undefined
    if (options.out !== undefined) {
      sink = yield* openOutFile(redis, client, { ...options.out, history, relay, group, consumer: options.consumer })
    } else {
      reportedByWrites(output)
    }
    const { live } = yield* Telemetry
    const started = Date.now()
    let items = 0
    let acknowledged = 0
    let height = -1
    // the output: bytes written after each acknowledged line, to tell how many a closed pipe may have held unread
    let bytes = 0
    const ends: Array<number> = []
    let lastAck: Promise<boolean> = Promise.resolve(true)
    let outputClosed = false
    const progress = Effect.gen(function*() {
      for (;;) {
        yield* Effect.sleep(options.progressIntervalMs)
        const seconds = (Date.now() - started) / 1000
        const lag = relay === undefined ? undefined : yield* groupLag(redis, relayKeys(relay).events, group)
        if (lag !== undefined) live.observeLag("consume", lag)
        yield* Effect.logInfo(
          `consume ${group}: ${items} items (${(items / seconds).toFixed(1)}/s), height ${height}` +
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
    // the reader of the output went away: say once what that cost and how to avoid it (stderr may be gone too)
    const closedNotice = Effect.suspend(() => {
      if (sink !== undefined || !(outputClosed || options.readerGone?.() === true)) return Effect.void
      return Effect.promise(() => Promise.race([lastAck, new Promise((r) => setTimeout(r, 2_000))])).pipe(
        Effect.andThen(() => {
          const unread = ends.filter((end) => end > bytes - PIPE_BUFFER).length
          return Console.error(
            `consume: the reader closed stdout after ${acknowledged} items were written and acknowledged for group ${group}; ` +
              `an item counts as delivered once written, so any it had not read yet are not delivered again ` +
              `(here up to the last ${unread}, what a pipe's 64 KiB buffer held, plus what the reader had buffered itself). ` +
              `Take a sample with --max N, or write to a durable sink with --out FILE.`
          )
        })
      )
    })
    yield* Effect.addFinalizer(() => closedNotice)
    const log = yield* consumerLog
    yield* consumeStream({
      redis: client,
      history,
      relay,
      group,
      consumer: options.consumer,
      fromAvailable: options.fromAvailable ?? false,
      log,
      inFlight: max === undefined ? options.inFlight : Math.min(options.inFlight, max),
      claimIdleMs: options.claimIdleMs
    }).pipe(
      Stream.runForEachWhile((item) =>
        Effect.gen(function*() {
          if (sink !== undefined && sink.written.delete(item.id)) {
            // on disk already, from a run whose acknowledgement did not reach Redis
            yield* Effect.promise(() => ack(item))
            return true
          }
          const line = formatItem(item, format)
          if (sink !== undefined) {
            const file = sink
            yield* Effect.tryPromise({
              try: () => file.append(line),
              catch: (error) =>
                new SinkError({ sink: "--out", detail: `cannot write ${options.out?.path}: ${error instanceof Error ? error.message : String(error)}`, cause: error })
            })
          } else if (!(yield* writeLine(output, line))) {
            outputClosed = true
            return false
          } else {
            bytes += Buffer.byteLength(line) + 1
            ends.push(bytes)
            if (ends.length > REMEMBERED_ENDS) ends.splice(0, ends.length - REMEMBERED_ENDS)
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
  }).pipe(Effect.scoped)
