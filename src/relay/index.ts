/**
 * The realtime relay (docs/relay.md): `relay(options)` runs chainSync$ → reorg → the Redis relay
 * sink; `relaySink` / `relayStart` / `RelayStore` are the parts, for composing it differently.
 */
export { RelayChainBroken, RelayCursorInvalid, RelayDepthExceeded, RelayFenced, RelayPrefixTaken, RelayResync, RelayStartNotOnChain } from "./errors.js"
export { DEFAULT_RELAY_PREFIX, type RelayKeys, relayKeys } from "./keys.js"
export {
  relay,
  type RelayError,
  type RelayFrom,
  type RelayOptions,
  relaySink,
  type RelaySinkOptions,
  type RelayStart,
  relayStart,
  retryRedis
} from "./relay.js"
export { type BatchOps, batchOps } from "./ops.js"
export { ogmiosRelaySource, type OgmiosRelaySourceOptions, type RelaySource, type RelaySourceRequest } from "./source.js"
export {
  makeRelayStore,
  type RelayCursor,
  type RelayOp,
  RelayStore,
  type RelayStoreOptions,
  type RelayStoreShape,
  type WindowEntry,
  type WriteResult
} from "./RelayStore.js"
