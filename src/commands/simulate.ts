/**
 * `hecate simulate`: runs the Ogmios-protocol chain simulator until interrupted, printing its URL
 * and the shape of the chain it serves. SIGTERM (a supervisor's stop) exits 0, SIGINT 130.
 *
 * Flags of the other network kind are refused rather than ignored (--epochs shapes a
 * mainnet-shaped range only; --era, --epoch-length, --slot-length and --k a custom network only),
 * and a custom Byron network keeps Byron's rule that an epoch is 10·k slots: its genesis carries
 * k, from which clients derive the epoch length, so the two cannot disagree.
 */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { intFlag, numberFlag } from "../config/flags.js"
import { reportExpectedFailures } from "../cli/report.js"
import { InvalidConfiguration } from "../services/HecateConfig.js"
import { exitZeroOnSigterm } from "../cli/process.js"
import { startSimulator, type SimulatorOptions } from "../simulator/index.js"
import { networkOptions } from "../simulator/network-options.js"

const flags = {
  port: intFlag("port").pipe(Flag.withDescription("port for WebSocket + HTTP (0 = ephemeral)"), Flag.withDefault(1337)),
  host: Flag.String("host").pipe(Flag.withDescription("interface to listen on"), Flag.withDefault("127.0.0.1")),
  seed: Flag.String("seed").pipe(Flag.withDescription("seed of every random choice"), Flag.withDefault("hecate")),
  network: Flag.Literals("network", ["custom", "mainnet-shaped"]).pipe(Flag.withDefault("custom")),
  epochs: Flag.String("epochs").pipe(Flag.withDescription("mainnet-shaped epoch range a..b (a >= 208; default 507..507)"), Flag.optional),
  era: Flag.Literals("era", ["byron", "shelley", "allegra", "mary", "alonzo", "babbage", "conway"]).pipe(
    Flag.withDescription("era of a custom network (default conway; byron: the genesis EBB, bft blocks and an EBB per epoch, epochs of 10·k slots of 20 s unless --slot-length)"),
    Flag.optional
  ),
  initialBlocks: intFlag("initial-blocks").pipe(Flag.withDescription("blocks generated up front (custom)"), Flag.withDefault(1000)),
  blockInterval: intFlag("block-interval").pipe(Flag.withDescription("ms between produced blocks (0 = no live production)"), Flag.withDefault(1000)),
  forkRate: numberFlag("fork-rate").pipe(Flag.withDescription("probability that a produced block is a fork switch"), Flag.withDefault(0)),
  maxRollback: intFlag("max-rollback").pipe(Flag.withDescription("deepest live fork (<= k; default 10, or k when k is smaller)"), Flag.optional),
  meanBlockBytes: intFlag("mean-block-bytes").pipe(Flag.withDescription("mean size of a generated block's JSON, bytes"), Flag.withDefault(16_384)),
  epochLength: intFlag("epoch-length").pipe(Flag.withDescription("slots per epoch (custom; default 10k/f; byron: 10k, the only length)"), Flag.optional),
  slotLength: intFlag("slot-length").pipe(Flag.withDescription("slot length in ms (custom; default 1000, byron 20000)"), Flag.optional),
  k: intFlag("k").pipe(Flag.withDescription("security parameter (custom; default 100, byron: --epoch-length / 10 when only that is given)"), Flag.optional)
}

export const simulateCommand = Command.make("simulate", flags, (f) =>
  Effect.gen(function* () {
    const network = networkOptions(f)
    if ("variable" in network) return yield* new InvalidConfiguration(network)
    const options: SimulatorOptions = {
      port: f.port,
      host: f.host,
      seed: f.seed,
      ...network,
      initialBlocks: f.initialBlocks,
      blockIntervalMs: f.blockInterval,
      forkRate: f.forkRate,
      meanBlockBytes: f.meanBlockBytes,
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
    if (f.blockInterval > 0) yield* Console.log(`producing a block every ${f.blockInterval} ms, fork rate ${f.forkRate}, max rollback ${network.maxRollback}`)
    return yield* Effect.never
  }).pipe(Effect.scoped, reportExpectedFailures("Simulator not started"), exitZeroOnSigterm("simulate: stopped on SIGTERM"))
).pipe(Command.withDescription("Run a forking Ogmios-protocol chain simulator (a local devnet) until interrupted"))
