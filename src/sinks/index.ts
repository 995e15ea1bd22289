/**
 * Every sink kind, behind one interface (Sink.ts) and one table of what each kind can do
 * (capabilities.ts): the backfill's block sinks and the relay's event sinks.
 */
export * from "./Sink.js"
export * from "./capabilities.js"
export * from "./BlockSink.js"
export * from "./cli.js"
export * from "./jsonl.js"
export * from "./redis.js"
export * from "./redis-list.js"
export { makeRelayRedisSink, relaySink, type RelaySinkOptions, type RelayWriteObserver } from "./relay-redis.js"
