/**
 * `hecate`: the library. Everything the CLI does composes from these parts:
 *
 *   chainSync$ (credit-based source) -> reorg (apply / undo / final) -> a sink
 *
 * as RxJS observables/operators, and as Effect services with swappable layers.
 * The simulator is `hecate/simulator`; the property-testing kit is `hecate/testing`.
 */

// domain
export * from "./domain/point.js"
export * from "./domain/block.js"
export * from "./domain/chain-event.js"
export * from "./domain/reorg-event.js"
export { encodeBlock, encodeBlocks, prepareBlock, type WireFormat } from "./domain/wire-format.js"
export * as LosslessJson from "./json/lossless.js"

// streams (RxJS)
export { chainSync$, type ChainSync$, type ChainSyncOptions } from "./streams/chainSync.js"
export {
  DEFAULT_DEPTH,
  finalPoint,
  initialState,
  reorg,
  type ReorgBatch,
  reorgBatches,
  stepBatch,
  type BatchStepOutput,
  reorgEvents,
  reorgStream,
  type ReorgOptions,
  type ReorgState,
  snapshot,
  step,
  stepOrThrow,
  tipPoint,
  type VolatileWindow,
  windowSize
} from "./streams/reorg.js"

// services (interfaces) and layers (implementations)
export { Ogmios, type ChainSyncStreamOptions } from "./services/Ogmios.js"
export { OgmiosLive, type OgmiosLiveOptions } from "./layers/OgmiosLive.js"
export * from "./ogmios/errors.js"
export { Redis, RedisError } from "./services/Redis.js"
export { RedisLive } from "./layers/RedisLive.js"
export { HecateConfig, InvalidConfiguration } from "./services/HecateConfig.js"
export { HecateConfigLive } from "./layers/HecateConfigLive.js"

// actors
export { Actor, Supervisor } from "./actors/index.js"

// backfill
export { backfill, type BackfillOptions, type BackfillProgress, type BackfillResult } from "./backfill/backfill.js"
export { syncEpoch, type EpochSyncRequest, type EpochSyncResult } from "./backfill/epoch-sync.js"
export { deriveEpochRows, ensureIndexedThrough, epochOfSlot, epochStartSlot } from "./backfill/epoch-derivation.js"
export { EpochIndex, type EpochRow } from "./backfill/epoch-index.js"
export { EpochStore, makeEpochStore } from "./backfill/store/EpochStore.js"
export * from "./sinks/index.js"
export * from "./backfill/errors.js"
