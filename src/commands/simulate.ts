/**
 * `hecate simulate`: runs the Ogmios-protocol chain simulator until interrupted, printing its URL
 * and the shape of the chain it serves. SIGTERM (a supervisor's stop) exits 0, SIGINT 130.
 */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { intFlag, numberFlag } from "../config/flags.js"
import { reportExpectedFailures } from "../cli/report.js"
import { epochRangeProblem } from "../config/settings.js"
import { InvalidConfiguration } from "../services/HecateConfig.js"
import { exitZeroOnSigterm } from "../cli/process.js"
import { startSimulator, type SimulatorOptions } from "../simulator/index.js"

/** "a..b" or "a" */
export const parseEpochRange = (text: string): { from: number; to: number } | undefined => {
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(text.trim())
  if (!m) return undefined
  const from = Number(m[1])
  const to = m[2] === undefined ? from : Number(m[2])
  return to >= from ? { from, to } : undefined
}

const flags = {
  port: intFlag("port").pipe(Flag.withDescription("port for WebSocket + HTTP (0 = ephemeral)"), Flag.withDefault(1337)),
  host: Flag.String("host").pipe(Flag.withDescription("interface to listen on"), Flag.withDefault("127.0.0.1")),
  seed: Flag.String("seed").pipe(Flag.withDescription("seed of every random choice"), Flag.withDefault("hecate")),
  network: Flag.Literals("network", ["custom", "mainnet-shaped"]).pipe(Flag.withDefault("custom")),
  epochs: Flag.String("epochs").pipe(Flag.withDescription("mainnet-shaped epoch range a..b (a >= 208)"), Flag.withDefault("507..507")),
  era: Flag.Literals("era", ["byron", "shelley", "allegra", "mary", "alonzo", "babbage", "conway"]).pipe(
    Flag.withDescription("era of a custom network (byron: the genesis EBB, bft blocks and an EBB per epoch, 21600-slot epochs of 20 s unless --epoch-length / --slot-length)"),
    Flag.withDefault("conway")
  ),
  initialBlocks: intFlag("initial-blocks").pipe(Flag.withDescription("blocks generated up front (custom)"), Flag.withDefault(1000)),
  blockInterval: intFlag("block-interval").pipe(Flag.withDescription("ms between produced blocks (0 = no live production)"), Flag.withDefault(1000)),
  forkRate: numberFlag("fork-rate").pipe(Flag.withDescription("probability that a produced block is a fork switch"), Flag.withDefault(0)),
  maxRollback: intFlag("max-rollback").pipe(Flag.withDescription("deepest live fork (<= k)"), Flag.withDefault(10)),
  meanBlockBytes: intFlag("mean-block-bytes").pipe(Flag.withDefault(16_384)),
  epochLength: intFlag("epoch-length").pipe(Flag.withDescription("slots per epoch (custom; default 10k/f)"), Flag.optional),
  slotLength: intFlag("slot-length").pipe(Flag.withDescription("slot length in ms (custom; default 1000, byron 20000)"), Flag.optional),
  k: intFlag("k").pipe(Flag.withDescription("security parameter (custom)"), Flag.withDefault(100))
}

export const simulateCommand = Command.make("simulate", flags, (f) =>
  Effect.gen(function* () {
    const epochsProblem = f.network === "mainnet-shaped" ? epochRangeProblem(f.epochs) : undefined
    const epochs = parseEpochRange(f.epochs)
    if (epochsProblem !== undefined || epochs === undefined) {
      return yield* new InvalidConfiguration({ variable: "--epochs", message: epochsProblem ?? `--epochs must look like a..b with a <= b, got ${JSON.stringify(f.epochs)} — e.g. --epochs 208..210` })
    }
    if (f.maxRollback > f.k) {
      // the node never rolls back more than k blocks; a deeper fork is not a chain Cardano makes
      return yield* new InvalidConfiguration({
        variable: "--max-rollback",
        message: `--max-rollback ${f.maxRollback} is deeper than --k ${f.k}: forks are at most k blocks deep — e.g. --max-rollback ${f.k} --k ${f.k}`
      })
    }
    const options: SimulatorOptions = {
      port: f.port,
      host: f.host,
      seed: f.seed,
      network: f.network,
      epochs,
      era: f.era,
      initialBlocks: f.initialBlocks,
      blockIntervalMs: f.blockInterval,
      forkRate: f.forkRate,
      maxRollback: f.maxRollback,
      meanBlockBytes: f.meanBlockBytes,
      securityParameter: f.k,
      ...(Option.isSome(f.epochLength) ? { epochLength: f.epochLength.value } : {}),
      ...(Option.isSome(f.slotLength) ? { slotLengthMs: f.slotLength.value } : {})
    }
    const sim = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => startSimulator(options),
        // options the chain cannot be laid out with, or a port already taken: the user's to fix
        catch: (cause) =>
          new InvalidConfiguration({
            variable: "simulate",
            message: (cause as NodeJS.ErrnoException).code === "EADDRINUSE"
              ? `--port ${f.port} is already in use — pick another, e.g. --port 0 (any free port)`
              : `the simulator cannot serve these options: ${cause instanceof Error ? cause.message : String(cause)} — e.g. hecate simulate --network mainnet-shaped --epochs 208..209`
          })
      }),
      (s) => Effect.promise(() => s.stop())
    )
    const chain = sim.chain
    const tip = chain.tip()
    const epochInfos = chain.epochs()
    yield* Console.log(`simulator listening on ${sim.url} (health: ${sim.httpUrl}/health)`)
    yield* Console.log(
      `network: ${chain.network.kind} (magic ${chain.network.networkMagic}, k=${chain.network.securityParameter}, ` +
        `epochLength=${chain.network.epochLength}, slotLength=${chain.network.slotLengthMs}ms, seed=${chain.seed})`
    )
    const first = epochInfos[0]
    const last = epochInfos.at(-1)
    yield* Console.log(
      `chain: ${chain.length} blocks, heights ${chain.baseHeight}..${chain.heightOf(chain.tipIndex)}` +
        (first && last ? `, epochs ${first.epoch}..${last.epoch} (${epochInfos.map((e) => `${e.epoch}:${e.blocks}`).join(" ")})` : "")
    )
    yield* Console.log(tip === "origin" ? "tip: origin" : `tip: slot ${tip.slot} height ${tip.height} id ${tip.id} (era ${chain.eraAt(chain.tipIndex)})`)
    if (f.blockInterval > 0) yield* Console.log(`producing a block every ${f.blockInterval} ms, fork rate ${f.forkRate}, max rollback ${f.maxRollback}`)
    return yield* Effect.never
  }).pipe(Effect.scoped, reportExpectedFailures("Simulator not started"), exitZeroOnSigterm("simulate: stopped on SIGTERM"))
).pipe(Command.withDescription("Run a forking Ogmios-protocol chain simulator (a local devnet) until interrupted"))
