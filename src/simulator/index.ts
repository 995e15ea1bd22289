/**
 * `hecate/simulator`: a faithful, forking Ogmios-protocol devnet for tests, benches and demos.
 *
 *   const sim = await startSimulator({ port: 0, network: "mainnet-shaped", epochs: { from: 507, to: 508 } })
 *   // sim.url -> ws://127.0.0.1:PORT ; sim.chain.tip() ; sim.switchFork(3, 4) ; await sim.stop()
 *
 * or, in Effect: `Simulator.layer(options)` provides a `Simulator` service (the same handle),
 * stopped when the layer's scope closes.
 */
import { Context, Effect, Layer } from "effect"
import { Chain, type ChainOptions } from "./chain.js"
import { LiveProducer, type LiveOptions } from "./live.js"
import { type ServerOptions, SimulatorServer } from "./server.js"

export { Chain, ChainError, type ChainChange, type ChainOptions, type EpochInfo } from "./chain.js"
export type { LiveOptions } from "./live.js"
export { type PraosEra, type Era, MAINNET, MAINNET_SCHEDULE } from "./mainnet.js"
export type { EraSummary, Network } from "./network.js"
export type { ServerOptions, ServerStats } from "./server.js"

/**
 * Everything is optional. Defaults:
 * - server: host "127.0.0.1", port 1337 (0 = ephemeral), version "v6.14.0 (simulator)"
 * - chain: seed "hecate", network "custom"; custom: era "conway", k 100, f 0.1, epochLength 10k/f,
 *   slotLengthMs 1000, networkMagic 42, networkId 0 (testnet), initialBlocks 1000, systemStart so the initial tip is now;
 *   era "byron": the genesis EBB, then bft blocks and an EBB per epoch, epochLength 10k (1000), slotLengthMs 20000;
 *   mainnet-shaped: epochs 507..507, nextEpochBlocks 20, dataDir = the repository's data/
 * - content: meanBlockBytes 16384, emptyBlockRate 0.05, cacheBytes 256 MiB
 * - live: blockIntervalMs 0 (off), forkRate 0, maxRollback min(k, 10), rollbackDistribution "geometric"
 */
export interface SimulatorOptions extends ChainOptions, ServerOptions, LiveOptions {}

export interface SimulatorStats {
  readonly messagesSent: number
  readonly blocksServed: number
  readonly rollbacksServed: number
  readonly bytesSent: number
  readonly messagesReceived: number
  readonly unrouted: number
  readonly totalConnections: number
  readonly activeConnections: number
  /** blocks generated (block cache misses) */
  readonly blocksGenerated: number
  readonly cacheBytes: number
  /** blocks produced / forks switched by the live producer */
  readonly liveProduced: number
  readonly liveForks: number
}

export interface SimulatorHandle {
  /** ws://host:port */
  readonly url: string
  /** http://host:port (GET /health) */
  readonly httpUrl: string
  readonly port: number
  readonly host: string
  /** The canonical chain: tip(), blockAt(height), canonicalPoints(), blocks(), epochs(), genesis... */
  readonly chain: Chain
  readonly server: SimulatorServer
  /** Adds n blocks to the tip; followers waiting at the tip get them. */
  forge(n?: number): void
  /** Drops the newest `depth` blocks (<= the immutable tip rule); followers past the fork get a backward. */
  rollback(depth: number): void
  /** Rolls back `depth` and adopts `newBlocks` blocks of a new branch, atomically. */
  switchFork(depth: number, newBlocks: number): void
  readonly live: {
    /** Starts producing every `intervalMs` (default: the blockIntervalMs option). */
    start(intervalMs?: number): void
    stop(): void
    readonly running: boolean
    /** One production step now; returns the fork depth (0 = plain block). */
    tick(): number
  }
  readonly faults: {
    /** Delays every frame by `ms` from now on (0 clears). */
    delay(ms: number): void
    /** Drops connections after `messages` more frames (current and new ones; once unless repeat). */
    dropAfter(messages: number, options?: { readonly repeat?: boolean }): void
    /** Sends a frame that is not JSON to every open connection. */
    sendMalformed(text?: string): number
    clear(): void
  }
  stats(): SimulatorStats
  /** /health status and body as served. */
  health(): { readonly status: number; readonly body: string }
  /** Stops listening (dropping all connections), waits `downMs`, listens again on the same port with the same chain. */
  restart(options?: { readonly downMs?: number }): Promise<void>
  /** Stops the live producer and the server. Idempotent. */
  stop(): Promise<void>
}

export const startSimulator = async (options: SimulatorOptions = {}): Promise<SimulatorHandle> => {
  const chain = new Chain(options)
  const server = new SimulatorServer(chain, options)
  const producer = new LiveProducer(chain, options)
  const port = await server.listen()
  const host = options.host ?? "127.0.0.1"
  producer.start()
  let stopped = false
  return {
    url: `ws://${host}:${port}`,
    httpUrl: `http://${host}:${port}`,
    port,
    host,
    chain,
    server,
    forge: (n = 1) => chain.forge(n),
    rollback: (depth) => void chain.rollback(depth),
    switchFork: (depth, newBlocks) => void chain.switchFork(depth, newBlocks),
    live: {
      start: (intervalMs) => producer.start(intervalMs),
      stop: () => producer.stop(),
      get running() {
        return producer.running
      },
      tick: () => producer.tick()
    },
    faults: {
      delay: (ms) => server.setDelay(ms),
      dropAfter: (messages, opts) => server.dropAfter(messages, opts),
      sendMalformed: (text) => server.sendMalformed(text),
      clear: () => server.clearFaults()
    },
    stats: () => {
      const cache = chain.cacheStats()
      return {
        ...server.stats,
        activeConnections: server.activeConnections,
        blocksGenerated: cache.generated,
        cacheBytes: cache.bytes,
        liveProduced: producer.produced,
        liveForks: producer.forks
      }
    },
    health: () => server.health(),
    restart: async (opts = {}) => {
      await server.close()
      if (opts.downMs) await new Promise((resolve) => setTimeout(resolve, opts.downMs))
      if (!stopped) await server.listen()
    },
    stop: async () => {
      stopped = true
      producer.stop()
      await server.dispose()
    }
  }
}

/** The simulator as an Effect service: `Simulator.layer(options)` starts it and stops it on release. */
export class Simulator extends Context.Service<Simulator, SimulatorHandle>()("hecate/Simulator") {
  static readonly layer = (options: SimulatorOptions = {}): Layer.Layer<Simulator> =>
    Layer.effect(
      Simulator,
      Effect.acquireRelease(
        Effect.promise(() => startSimulator(options)),
        (handle) => Effect.promise(() => handle.stop())
      )
    )
}
