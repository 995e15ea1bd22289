/**
 * `hecate/testing`: property-testing kit for chain-sync consumers.
 * See docs/testing-kit.md.
 */
export { type TestBlock, testBlock, testBlockId, testBlockSlot, testPoint, testTip } from "./blocks.js"
export {
  type History,
  historyArbitrary,
  type HistoryArbitraryOptions,
  type HistoryOp,
  fromScript,
  type Script,
  toScript
} from "./history.js"
export { ReferenceChain, type Replay, replay } from "./reference-chain.js"
export {
  EventChecker,
  finalIsPrefix,
  foldApplyUndo,
  type InvariantName,
  InvariantViolation,
  noDuplicates,
  sameChain,
  undoMirrorsApply,
  windowBound
} from "./invariants.js"
export {
  type CheckOptions,
  type CheckReport,
  checkConsumer,
  ConsumerCheckFailed,
  type ConsumerContext,
  type ConsumerFactory,
  type ConsumerUnderTest,
  propertyRuns,
  reorgConsumer,
  runConsumer,
  type RunOptions,
  type RunSummary
} from "./check.js"
// in-memory stores, for unit tests of pipelines with no Redis (same contract as the Redis ones)
export {
  type MemoryEntry,
  type MemoryRelayState,
  type MemoryRelayStore,
  MemoryRelayStoreLayer,
  makeMemoryRelayStore
} from "../relay/MemoryRelayStore.js"
export {
  type MemoryEpochState,
  type MemoryEpochStore,
  MemoryEpochStoreLayer,
  type MemoryEpochStoreOptions,
  type MemoryGroupInfo,
  MemoryStreamError,
  type MemoryStreamState,
  makeMemoryEpochStore
} from "../backfill/store/MemoryEpochStore.js"
// an in-memory chain and chain-sync source, for the relay with no Ogmios socket
export { MemoryChain, type MemoryChainOptions } from "./memory-chain.js"
