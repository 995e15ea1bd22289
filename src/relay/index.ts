/**
 * The realtime relay (docs/relay.md): `relay(options)` runs chainSync$ → reorg → the Redis relay
 * sink (src/sinks/relay-redis.ts); `relaySink` / `relayStart` / `RelayStore` are the parts, for composing it differently.
 */
export { RelayChainBroken, RelayCursorInvalid, RelayDepthExceeded, RelayFenced, RelayPrefixTaken, RelayResync, RelayStartNotOnChain } from "./errors.js"
export { DEFAULT_RELAY_PREFIX, type RelayKeys, relayKeys } from "./keys.js"
export { relay, type RelayError, type RelayFrom, type RelayOptions, type RelayStart, relayStart } from "./relay.js"
export { retryRedis } from "./retry-redis.js"
export { makeRelayRedisSink, relaySink, type RelaySinkOptions, type RelayWriteObserver } from "../sinks/relay-redis.js"
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
