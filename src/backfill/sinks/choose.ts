/**
 * The sink a backfill writes into, by kind: the epoch streams (`redis`) and the Python Hecate's
 * list (`redis-list`) need a Redis connection; stdout / a file (`jsonl`) and the table (`cli`) need
 * none, so a run into them never opens one (and runs without a Redis at all).
 */
import { Effect } from "effect"
import type { WireFormat } from "../../domain/wire-format.js"
import { Redis } from "../../services/Redis.js"
import { makeEpochStore } from "../store/EpochStore.js"
import type { BlockSink, SinkKind } from "./BlockSink.js"
import { makeCliSink } from "./cli.js"
import { makeJsonlSink } from "./jsonl.js"
import { makeRedisSink } from "./redis.js"
import { DEFAULT_LIST_PREFIX, makeRedisListSink } from "./redis-list.js"

export type RedisSinkKind = Extract<SinkKind, "redis" | "redis-list">
export type StreamSinkKind = Exclude<SinkKind, RedisSinkKind>

export const isRedisSink = (kind: SinkKind): kind is RedisSinkKind => kind === "redis" || kind === "redis-list"

/** The Redis key prefix a sink writes under: the epoch streams' or the list's (`--redis-prefix` wins). */
export const sinkPrefix = (kind: RedisSinkKind, given: string | undefined, historyPrefix: string): string =>
  given ?? (kind === "redis" ? historyPrefix : DEFAULT_LIST_PREFIX)

/** A sink into Redis, under `prefix`. */
export const makeRedisBackedSink = (kind: RedisSinkKind, prefix: string, format: WireFormat): Effect.Effect<BlockSink, never, Redis> =>
  Effect.map(Effect.service(Redis), (redis) =>
    kind === "redis" ? makeRedisSink(makeEpochStore(redis, { prefix }), { format }) : makeRedisListSink(redis, { prefix, format }))

/** A sink that prints: the table, or one JSON block per line to stdout or appended to `output`. */
export const makeStreamSink = (kind: StreamSinkKind, format: WireFormat, output: string | undefined): BlockSink =>
  kind === "cli" ? makeCliSink() : makeJsonlSink({ format, ...(output === undefined ? {} : { path: output }) })
