/**
 * `hecate consume --group G`: the downstream half as a command (docs/consumer.md). The chain is
 * printed as one sequence, history then relay, through the consumer group G, by the library's
 * program (src/consumer/run.ts; on stdout an item counts as delivered once written, with `--out
 * FILE` once on disk). The run is recorded in the run history and served with --http-port. Only
 * the settings it uses are read (a bad OGMIOS_ENDPOINTS, say, cannot stop it).
 */
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { handleStdoutErrors, isOutputClosed } from "../cli/process.js"
import { runCommand } from "../cli/command.js"
import { configFlag, intFlag, logFormatFlag } from "../config/flags.js"
import type { SettingKey } from "../config/settings.js"
import { LINE_FORMATS, type LineFormat } from "../consumer/lines.js"
import { nameProblem } from "../consumer/names.js"
import { CHAIN_SOURCES, type ChainSource, consumeProgram } from "../consumer/run.js"
import { observabilityFlags, observeRun, runParameters, Telemetry } from "../observability/index.js"

/** The settings `consume` reads (its run record and HTTP server included); the others are not validated. */
export const CONSUME_SETTINGS: ReadonlyArray<SettingKey> = ["redisUrl", "relayPrefix", "historyPrefix", "progressIntervalMs", "logLevel", "logFormat", "runsPrefix", "runsKeep", "httpHost", "healthMaxDistance"]

const named = (kind: "group" | "consumer") => (flag: Flag.Flag<string>) =>
  flag.pipe(Flag.filter((name) => nameProblem(kind, name) === undefined, (name) => `--${kind}: ${nameProblem(kind, name)}`))

const flags = {
  group: Flag.String("group").pipe(named("group"), Flag.withDescription("Consumer group (created at 0 on first use; acks are per group)")),
  consumer: Flag.String("consumer").pipe(named("consumer"), Flag.withDescription("Consumer name within the group (default: the host name); keep it stable across restarts to resume in order"), Flag.optional),
  sink: Flag.Literals("sink", LINE_FORMATS).pipe(Flag.withDescription("jsonl: one JSON object per item; cli: one short line per item (stdout only)"), Flag.withDefault<LineFormat>("jsonl")),
  source: Flag.Literals("source", CHAIN_SOURCES).pipe(Flag.withDescription("both: the epoch streams then the relay (sync/serve), history: a backfill only, relay: a relay only"), Flag.withDefault<ChainSource>("both")),
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
  out: Flag.String("out").pipe(Flag.withDescription("Append the jsonl lines to FILE, each on disk (fdatasync) before it is acknowledged; exactly once across restarts (one file per group)"), Flag.optional),
  acceptGap: Flag.Boolean("accept-gap").pipe(Flag.withDescription("With --out: continue although the group has acknowledged items after the file's last line (the file lost lines), leaving that hole in it"), Flag.withDefault(false)),
  fromAvailable: Flag.Boolean("from-available").pipe(Flag.withDescription("A group new to a history whose first epochs were already cleaned up starts at the first epoch left (with a warning) instead of exiting 2"), Flag.withDefault(false)),
  inFlight: intFlag("in-flight").pipe(Flag.withDescription("Items handed out and not acknowledged at most"), Flag.withDefault(16)),
  claimIdle: Flag.Int("claim-idle-ms").pipe(Flag.filter((n) => Number.isSafeInteger(n) && n >= 0, (n) => `--claim-idle-ms must be an integer >= 0, got ${n} — e.g. --claim-idle-ms 60000`), Flag.withDescription("Entries another consumer of the group left pending this long are claimed (XAUTOCLAIM)"), Flag.withDefault(60_000)),
  registerOnly: Flag.Boolean("register-only").pipe(Flag.withDescription("Only register the group (in the history's registry and on events/final at 0), then exit: run it for every group before the producer starts"), Flag.withDefault(false)),
  unregister: Flag.Boolean("unregister").pipe(Flag.withDescription("Remove the group (from events/final, every epoch stream and the history's registry, with its batch progress), then exit: a group nobody reads holds back the producers"), Flag.withDefault(false)),
  config: configFlag,
  logFormat: logFormatFlag,
  ...observabilityFlags
}

type Flags = Command.Command.Config.Infer<typeof flags>

const run = (f: Flags) =>
  Effect.suspend(() => {
    // a failed write of a data line is reported by the program, as one line (not the stream's uncaught error)
    if (Option.isNone(f.out)) handleStdoutErrors()
    const { group, source, acceptGap, fromAvailable, inFlight, registerOnly, unregister } = f
    return consumeProgram({
      group, source, acceptGap, fromAvailable, inFlight, registerOnly, unregister,
      consumer: Option.getOrUndefined(f.consumer),
      format: f.sink,
      relayPrefix: Option.getOrUndefined(f.redisPrefix),
      historyPrefix: Option.getOrUndefined(f.historyPrefix),
      max: Option.getOrUndefined(f.max),
      out: Option.getOrUndefined(f.out),
      claimIdleMs: f.claimIdle,
      readerGone: isOutputClosed
    })
  }).pipe(
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

export const consumeCommand = Command.make("consume", flags, run).pipe(
  Command.withDescription(
    "Print the chain (epoch streams, then the relay's events and finals) through a consumer group. " +
      "On stdout an item counts as delivered once written: if the reader closes the pipe early (| head), what it had not read is not delivered again — " +
      "take a sample with --max N, or use --out FILE (on disk before acknowledged, exactly once)"
  )
)
