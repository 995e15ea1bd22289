/**
 * The Ogmios service interface: typed ledger/network queries, findIntersection, and a pull-based
 * chain-sync Stream (credits follow pulls). Implementations: src/layers/OgmiosLive.ts (WebSocket);
 * tests can provide any object of this shape (`Layer.succeed(Ogmios, Ogmios.of({...}))`).
 */
import { Context, type Effect, type Stream } from "effect"
import type { ChainSyncEvent } from "../domain/chain-event.js"
import type { PointOrOrigin } from "../domain/point.js"
import type { OgmiosError } from "../ogmios/errors.js"
import type {
  BlockHeight,
  EraSummaries,
  FindIntersectionResult,
  GenesisConfigurationFor,
  GenesisEra,
  NetworkTip,
  StartTime
} from "../ogmios/schemas.js"

export interface ChainSyncStreamOptions {
  /** most nextBlock requests outstanding = elements buffered ahead of the consumer (default: the layer's, 100) */
  readonly inFlight?: number
  /**
   * Forward blocks as header-only Blocks keeping their frame text (src/domain/block-text.ts): for a
   * consumer that verifies headers and writes blocks out with `encodeBlock` only (default false).
   */
  readonly blockText?: boolean
}

export class Ogmios extends Context.Service<Ogmios, {
  /** Moves the query connection's chain-sync cursor; fails with IntersectionNotFound (1000). */
  findIntersection(points: ReadonlyArray<PointOrOrigin>): Effect.Effect<FindIntersectionResult, OgmiosError>
  queryNetworkTip(): Effect.Effect<NetworkTip, OgmiosError>
  queryNetworkBlockHeight(): Effect.Effect<BlockHeight, OgmiosError>
  queryNetworkStartTime(): Effect.Effect<StartTime, OgmiosError>
  queryNetworkGenesisConfiguration<E extends GenesisEra>(era: E): Effect.Effect<GenesisConfigurationFor<E>, OgmiosError>
  queryLedgerStateEpoch(): Effect.Effect<number, OgmiosError>
  queryLedgerStateEraSummaries(): Effect.Effect<EraSummaries, OgmiosError>
  queryLedgerStateTip(): Effect.Effect<NetworkTip, OgmiosError>
  /**
   * Follows the chain from the first of `points` (newest first) found on the server's chain.
   * Runs on a socket of its own (one chain-sync session per WebSocket) and reconnects with
   * resume as `chainSync$` does; the first element is the RollBackward to the intersection.
   */
  chainSync(points: ReadonlyArray<PointOrOrigin>, options?: ChainSyncStreamOptions): Stream.Stream<ChainSyncEvent, OgmiosError>
}>()("hecate/Ogmios") {}
