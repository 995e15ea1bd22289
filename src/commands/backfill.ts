/**
 * `hecate backfill`: relay finalized epochs into a sink, oldest first (the Python Hecate's command,
 * same flags, defaults and exit codes). `--simulator` runs it against an embedded simulator, so a
 * newcomer sees it work with nothing but Redis. The command is its flags, the settings they
 * override (src/cli/command.ts) and one program: the library's backfill into the chosen sink.
 */
import { open } from "node:fs/promises"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { backfillProgram, backfillRunProblem, type BackfillRun } from "../backfill/run.js"
import { runCommand } from "../cli/command.js"
import { isOutputClosed, stopNotice } from "../cli/process.js"
import { configFlag, endpointFlag, intFlag, logFormatFlag, sharedOverrides } from "../config/flags.js"
import type { RangedFlag } from "../config/settings.js"
import { WIRE_FORMATS } from "../domain/wire-format.js"
import { distributedFlags } from "../distributed/flags.js"
import { Telemetry } from "../observability/Telemetry.js"
import { observabilityFlags, observeRun, runParameters } from "../observability/run.js"
import { BACKFILL_SINK_CAPABILITIES, SINK_KINDS, type SinkKind } from "../sinks/capabilities.js"
import { DEFAULT_LIST_PREFIX } from "../sinks/redis-list.js"
import { InvalidConfiguration } from "../services/HecateConfig.js"

const optionalInt = (name: RangedFlag, description: string) =>
  intFlag(name).pipe(Flag.withDescription(description), Flag.optional)

export const backfillFlags = {
  startEpoch: optionalInt("start-epoch", "First epoch (default 208 on mainnet, the first epoch elsewhere)"),
  endEpoch: optionalInt("end-epoch", "Last epoch, inclusive (default and cap: the last finalized epoch)"),
  concurrency: optionalInt("concurrency", "Epochs synced in parallel (default HECATE_BACKFILL_CONCURRENCY, else half the CPUs, at least 1)"),
  batchSize: optionalInt("batch-size", "Blocks per sink batch (default BATCH_SIZE, 500; 0 = BATCH_SIZE)"),
  sink: Flag.Literals("sink", SINK_KINDS).pipe(Flag.withDescription("Where blocks go"), Flag.withDefault<SinkKind>("redis")),
  endpoint: endpointFlag(),
  redisPrefix: Flag.String("redis-prefix").pipe(
    Flag.withDescription("Key prefix (default hecate:history: for redis, hecate: for redis-list)"),
    Flag.optional
  ),
  purgeOrphans: Flag.Boolean("purge-orphans").pipe(
    Flag.withDescription("Let the purge drop published epochs below the window that no consumer group registered for"),
    Flag.withDefault(false)
  ),
  rebaseOrderingBase: Flag.Boolean("rebase-ordering-base").pipe(
    Flag.withDescription("Allow a window starting above last_synced_epoch + 1 by moving the base up"),
    Flag.withDefault(false)
  ),
  format: Flag.Literals("format", WIRE_FORMATS).pipe(
    Flag.withDescription("Block wire format: hecate (prepare_block, as the Python Hecate writes) or ogmios (untouched)"),
    Flag.withDefault<"hecate" | "ogmios">("hecate")
  ),
  output: Flag.String("output").pipe(Flag.withDescription("jsonl sink: file to append to (default stdout)"), Flag.optional),
  inFlight: optionalInt("in-flight", "nextBlock requests in flight, shared by the epochs synced at once (default HECATE_IN_FLIGHT, 100)"),
  retries: optionalInt("retries", "Further attempts per epoch (default HECATE_EPOCH_RETRIES, 3)"),
  retryDelay: optionalInt("retry-delay", "Seconds between attempts (default HECATE_EPOCH_RETRY_DELAY_S, 10)"),
  simulator: Flag.Boolean("simulator").pipe(
    Flag.withDescription("Run against an embedded simulator (a short custom chain) instead of OGMIOS_ENDPOINTS"),
    Flag.withDefault(false)
  ),
  logFormat: logFormatFlag,
  config: configFlag,
  ...observabilityFlags,
  ...distributedFlags
}

type Flags = {
  readonly [K in keyof typeof backfillFlags]: (typeof backfillFlags)[K] extends Flag.Flag<infer A> ? A : never
}

/** The flags that override settings. */
const overrides = (flags: Flags) => ({
  ...sharedOverrides(flags),
  // 0 = BATCH_SIZE
  batchSize: Option.getOrUndefined(flags.batchSize) || undefined,
  inFlight: Option.getOrUndefined(flags.inFlight),
  // the same settings as the backfill of sync and serve, so one variable sets all three
  backfillConcurrency: Option.isSome(flags.concurrency) ? flags.concurrency : undefined,
  epochRetries: Option.getOrUndefined(flags.retries),
  epochRetryDelaySeconds: Option.getOrUndefined(flags.retryDelay)
})

/**
 * The jsonl sink's --output, opened for appending (and closed) before anything runs: a path the
 * sink cannot write is the user's to fix (exit 2), not something to find after the simulator
 * started, the run was recorded and the first epoch was synced.
 */
const checkOutput = (flags: Flags) => {
  const path = Option.getOrUndefined(flags.output)
  if (flags.sink !== "jsonl" || path === undefined || path === "-") return Effect.void
  return Effect.tryPromise({
    try: async () => {
      const handle = await open(path, "a")
      await handle.close()
    },
    catch: (cause) =>
      new InvalidConfiguration({
        variable: "--output",
        message: `--output ${path}: cannot open it for appending (${(cause as NodeJS.ErrnoException).code ?? String(cause)}): ` +
          `check the directory exists and is writable — e.g. --output ./blocks.jsonl`
      })
  })
}

const runOptions = (flags: Flags): BackfillRun => ({
  startEpoch: Option.getOrUndefined(flags.startEpoch),
  endEpoch: Option.getOrUndefined(flags.endEpoch),
  sink: flags.sink,
  redisPrefix: Option.getOrUndefined(flags.redisPrefix),
  format: flags.format,
  output: Option.getOrUndefined(flags.output),
  purgeOrphans: flags.purgeOrphans,
  rebaseOrderingBase: flags.rebaseOrderingBase,
  simulator: flags.simulator,
  distributed: flags.distributed ? { detach: flags.detach, queue: flags.queue } : undefined,
  detachAlone: flags.detach && !flags.distributed
})

/** The backfill with its run record. */
const recordedBackfill = (flags: Flags) =>
  backfillProgram(runOptions(flags)).pipe(
    Effect.scoped,
    observeRun({
      command: "backfill",
      parameters: runParameters(flags),
      http: { port: flags.httpPort, host: flags.httpHost },
      usesRedis: flags.distributed || BACKFILL_SINK_CAPABILITIES[flags.sink].needsRedis,
      historyPrefix: Option.getOrUndefined(flags.redisPrefix),
      writes: flags.sink === "redis" || flags.distributed ? "history"
        : flags.sink === "redis-list" ? { prefix: Option.getOrElse(flags.redisPrefix, () => DEFAULT_LIST_PREFIX) }
        : undefined,
      distributed: flags.distributed ? { queue: Option.getOrUndefined(flags.queue) } : undefined,
      ...(flags.endpoint.length > 0 ? { endpoints: flags.endpoint } : {})
    })
  )

const run = (flags: Flags) =>
  checkOutput(flags).pipe(
    // a usage error is refused before a run is recorded: the history holds runs, not typos
    Effect.andThen(Effect.suspend(() => {
      const problem = backfillRunProblem(runOptions(flags))
      return problem === undefined ? Effect.void : Effect.fail(problem)
    })),
    Effect.andThen(recordedBackfill(flags)),
    Effect.provide(Telemetry.layer),
    // a closed pipe (`--sink jsonl | head`) ends quietly: there is no one to tell
    Effect.onInterrupt(() => isOutputClosed() ? Effect.void : stopNotice("Interrupted. Rerun to resume.", "stdout")),
    runCommand({ overrides: overrides(flags), failure: "Backfill incomplete" })
  )

export const backfillCommand = Command.make("backfill", backfillFlags, run).pipe(
  Command.withDescription("Relay finalized epochs oldest first: per-epoch Redis streams committed in ascending order")
)
