/**
 * Epoch boundaries derived from the chain itself: walk the blocks from a known anchor (the last
 * indexed epoch's last block, or origin) and cut them into epochs with the network's era
 * summaries — never mainnet constants — so it works on the simulator, preprod and preview alike.
 * Only finalized epochs are derived: an epoch is closed when the first block of the next epoch has
 * been seen, and the walk stops at `untilEpoch`, which the caller bounds by the live epoch − 1.
 */
import { Effect, Stream } from "effect"
import type { PointOrOrigin } from "../domain/point.js"
import type { OgmiosError } from "../ogmios/errors.js"
import type { EraSummaries } from "../ogmios/schemas.js"
import { Ogmios } from "../services/Ogmios.js"
import { EpochIndex, type EpochRow } from "./epoch-index.js"
import { EpochIndexInvalid, type EpochNotIndexed } from "./errors.js"

/** The epoch a slot belongs to, from the era summaries (start slot/epoch and epoch length per era). */
export const epochOfSlot = (summaries: EraSummaries, slot: number): number => {
  let era = summaries[0]
  for (const s of summaries) if (s.start.slot <= slot) era = s
  if (era === undefined) throw new RangeError("no era summaries")
  return era.start.epoch + Math.floor((slot - era.start.slot) / era.parameters.epochLength)
}

/** The first slot of an epoch, from the era summaries. */
export const epochStartSlot = (summaries: EraSummaries, epoch: number): number => {
  let era = summaries[0]
  for (const s of summaries) if (s.start.epoch <= epoch) era = s
  if (era === undefined) throw new RangeError("no era summaries")
  return era.start.slot + (epoch - era.start.epoch) * era.parameters.epochLength
}

export interface DeriveRequest {
  /** The last block of the epoch before `fromEpoch`, or undefined to start at origin. */
  readonly anchor?: { readonly slot: number; readonly hash: string; readonly height: number } | undefined
  readonly untilEpoch: number
  readonly summaries: EraSummaries
  readonly inFlight?: number
  /**
   * The highest immutable block height (tip height − k), when given: an epoch is closed only when
   * the first block of the next epoch is at or below it, and the walk stops at the first block
   * above it — so no row depends on a block a rollback could still replace.
   */
  readonly finalHeight?: number | undefined
}

/**
 * Rows for every epoch after the anchor up to `untilEpoch`, each checked: count = heights, the
 * boundary lies astride the next epoch's first slot, heights contiguous with the anchor.
 */
export const deriveEpochRows = (request: DeriveRequest): Effect.Effect<Array<EpochRow>, OgmiosError | EpochIndexInvalid, Ogmios> =>
  Effect.gen(function*() {
    const ogmios = yield* Ogmios
    const start: PointOrOrigin = request.anchor === undefined ? "origin" : { slot: request.anchor.slot, id: request.anchor.hash }
    const rows: Array<EpochRow> = []
    let open: { epoch: number; startHeight: number; startSlot: number; startHash: string } | undefined
    let last: { slot: number; hash: string; height: number } | undefined = request.anchor
    let invalid: EpochIndexInvalid | undefined
    const bad = (detail: string) => new EpochIndexInvalid({ source: "chain", detail })

    yield* ogmios.chainSync([start], { inFlight: request.inFlight ?? 100 }).pipe(
      Stream.filter((event) => event._tag === "RollForward"),
      Stream.takeUntil((event) => {
        const block = event.block
        if (request.finalHeight !== undefined && block.height > request.finalHeight) return true
        const slot = block.slot ?? 0
        const epoch = epochOfSlot(request.summaries, slot)
        if (last !== undefined && block.height !== last.height + 1) {
          invalid = bad(`height ${block.height} follows ${last.height}: the chain has a gap`)
          return true
        }
        if (open !== undefined && epoch !== open.epoch) {
          const boundary = epochStartSlot(request.summaries, epoch)
          if (!(last!.slot < boundary && boundary <= slot)) {
            invalid = bad(`epoch ${open.epoch} does not end astride slot ${boundary}`)
            return true
          }
          rows.push({
            epoch: open.epoch,
            startHeight: open.startHeight,
            startSlot: open.startSlot,
            startHash: open.startHash,
            endHeight: last!.height,
            endSlot: last!.slot,
            endHash: last!.hash,
            blocks: last!.height - open.startHeight + 1
          })
          open = undefined
        }
        if (epoch > request.untilEpoch) return true
        open ??= { epoch, startHeight: block.height, startSlot: slot, startHash: block.id }
        last = { slot, hash: block.id, height: block.height }
        return false
      }),
      Stream.runDrain
    )
    if (invalid !== undefined) return yield* Effect.fail(invalid)
    return rows
  })

/**
 * Makes sure the epoch index knows every epoch up to `target` (derived from the chain and cached
 * per network when it does not). Returns the last indexed epoch.
 */
export const ensureIndexedThrough = (target: number): Effect.Effect<number, OgmiosError | EpochIndexInvalid | EpochNotIndexed, Ogmios | EpochIndex> =>
  Effect.gen(function*() {
    const index = yield* EpochIndex
    const known = yield* index.knownRange()
    if (known !== undefined && known.last >= target) return known.last
    const ogmios = yield* Ogmios
    const summaries = yield* ogmios.queryLedgerStateEraSummaries()
    const anchorRow = known === undefined ? undefined : yield* index.boundary(known.last)
    const from = known === undefined ? "origin" : `epoch ${known.last}`
    yield* Effect.logInfo(`deriving epochs ${known === undefined ? "from genesis" : known.last + 1} .. ${target} from the chain (from ${from})`)
    const rows = yield* deriveEpochRows({
      anchor: anchorRow === undefined ? undefined : { slot: anchorRow.endSlot, hash: anchorRow.endHash, height: anchorRow.endHeight },
      untilEpoch: target,
      summaries
    })
    if (rows.length > 0) yield* index.extend(rows)
    return rows.length > 0 ? rows[rows.length - 1]!.epoch : known?.last ?? -1
  })
