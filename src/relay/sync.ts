/**
 * `sync` as a library function: backfill the finalized epochs that are past the stability window
 * into the epoch streams, then relay from exactly the block after the last backfilled one — no gap
 * and no overlap between the epoch streams and the relay stream. The seam is recorded in the relay
 * cursor; when a cursor exists, the backfill is done and the relay resumes from it.
 * Used by the `sync` command and by `serve`. Its Ogmios sessions come from the run's
 * OgmiosConnector: the backfill's give up like the backfill's (bounded), the relay's never do.
 */
import { type Duration, Effect, Layer } from "effect"
import { backfill, type BackfillProgress } from "../backfill/backfill.js"
import { epochOfSlot } from "../backfill/epoch-derivation.js"
import { EpochIndex } from "../backfill/epoch-index.js"
import { detectNetwork } from "../backfill/network.js"
import { makeRedisSink } from "../sinks/redis.js"
import { makeEpochStore } from "../backfill/store/EpochStore.js"
import { formatPoint } from "../domain/point.js"
import { Ogmios } from "../services/Ogmios.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import { Redis } from "../services/Redis.js"
import { relay, type RelayOptions } from "./relay.js"
import { RelayStore } from "./RelayStore.js"
import { ogmiosRelaySource } from "./source.js"

type ConnectionKeys = "endpoints" | "requestTimeout" | "reconnect" | "inFlight"

export interface SyncOptions {
  /**
   * The relay's options; `from`, `fromHeight` and `initFields` are decided here, the connection
   * (endpoints, timeouts, reconnects, in-flight) is the OgmiosConnector's.
   */
  readonly relay: Omit<RelayOptions, "from" | "fromHeight" | "fromFinal" | "initFields" | ConnectionKeys>
  readonly historyPrefix: string
  readonly epochCachePath: string
  readonly backfill: {
    readonly concurrency: number
    readonly batchSize: number
    readonly retries: number
    readonly retryDelay: Duration.Input
    readonly maxUnconsumedEpochs: number
  }
  readonly onBackfillProgress?: (event: BackfillProgress) => void
}

const parseCoefficient = (text: string): number => {
  const [n, d] = text.split("/")
  const value = d === undefined ? Number(n) : Number(n) / Number(d)
  return Number.isFinite(value) ? value : 1
}

/**
 * The last finalized epoch whose last block is at least k deep: the tip minus the stability window
 * (3k/f slots) lies in a later epoch. The backfill stops there, the relay covers the rest.
 */
export const lastStableEpoch = Effect.gen(function*() {
  const ogmios = yield* Ogmios
  const [tip, genesis, summaries, epoch] = yield* Effect.all([
    ogmios.queryNetworkTip(),
    ogmios.queryNetworkGenesisConfiguration("shelley"),
    ogmios.queryLedgerStateEraSummaries(),
    ogmios.queryLedgerStateEpoch()
  ])
  if (tip === "origin") return { epoch: -1, k: genesis.securityParameter }
  const f = parseCoefficient(String(genesis.activeSlotsCoefficient))
  const stableSlot = tip.slot - Math.ceil((3 * genesis.securityParameter) / (f > 0 && f <= 1 ? f : 1))
  const stable = stableSlot < 0 ? -1 : epochOfSlot(summaries, stableSlot) - 1
  return { epoch: Math.min(stable, epoch - 1), k: genesis.securityParameter }
})

/** Backfill then relay (or resume the relay when its cursor exists). Runs until interrupted. */
export const syncThenRelay = (options: SyncOptions) =>
  Effect.gen(function*() {
    const store = yield* RelayStore
    const connector = yield* OgmiosConnector
    const connection = connector.follower("forever")
    const relayOptions = { ...connection, source: ogmiosRelaySource(connection), ...options.relay }
    const existing = yield* store.read()
    if (existing !== undefined) {
      const seam = existing.fields["seam_epoch"]
      yield* Effect.logInfo(
        `relay cursor exists${seam === undefined ? "" : ` (seam after epoch ${seam})`}: the backfill is done, resuming the relay`
      )
      return yield* relay({ ...relayOptions, from: "cursor" })
    }

    const network = yield* detectNetwork
    const indexLayer = EpochIndex.layer({ network, cachePath: options.epochCachePath })
    const stable = yield* lastStableEpoch
    yield* Effect.logInfo(`backfilling finalized epochs up to ${stable.epoch} (the last one past the stability window), then relaying`)
    const seam = yield* Effect.gen(function*() {
      const redis = yield* Redis
      const epochStore = makeEpochStore(redis, { prefix: options.historyPrefix })
      if (stable.epoch >= 0) {
        yield* backfill(makeRedisSink(epochStore, { format: options.relay.format ?? "hecate" }), {
          endEpoch: stable.epoch,
          concurrency: options.backfill.concurrency,
          batchSize: options.backfill.batchSize,
          inFlight: relayOptions.inFlight,
          endpoints: connector.endpoints,
          ogmiosLayer: (eps) => connector.layer("bounded", eps),
          retries: options.backfill.retries,
          retryDelay: options.backfill.retryDelay,
          maxUnconsumedEpochs: options.backfill.maxUnconsumedEpochs,
          ...(options.onBackfillProgress === undefined ? {} : { onProgress: options.onBackfillProgress })
        })
      }
      const last = yield* epochStore.getLastSyncedEpoch()
      if (last === undefined) return undefined
      const index = yield* EpochIndex
      return yield* index.boundary(last)
    }).pipe(Effect.provide(Layer.mergeAll(indexLayer)))

    if (seam === undefined) {
      yield* Effect.logInfo("no epoch was backfilled: relaying from origin")
      return yield* relay({ ...relayOptions, from: "origin", initFields: { history_prefix: options.historyPrefix } })
    }
    const point = { slot: seam.endSlot, id: seam.endHash }
    yield* Effect.logInfo(`epoch streams end with epoch ${seam.epoch} at ${formatPoint(point)} (height ${seam.endHeight}): the relay starts after it`)
    return yield* relay({
      ...relayOptions,
      from: point,
      fromHeight: seam.endHeight,
      // the last block of a backfilled epoch is final: no rollback may go below the seam
      fromFinal: true,
      initFields: {
        history_prefix: options.historyPrefix,
        seam_epoch: String(seam.epoch),
        seam_slot: String(seam.endSlot),
        seam_hash: seam.endHash,
        seam_height: String(seam.endHeight)
      }
    })
  })
