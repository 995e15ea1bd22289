/**
 * The sink of a kind a user named (`backfill --sink`, `relay --sink`). Whether a kind needs a
 * Redis connection is its `needsRedis` capability (capabilities.ts): the epoch streams (`redis`)
 * and the Python Hecate's list (`redis-list`) do; stdout / a file (`jsonl`) and the table (`cli`)
 * do not, so a run into them never opens one (and runs without a Redis at all).
 */
import { Effect } from "effect"
import type { WireFormat } from "../domain/wire-format.js"
import { Redis } from "../services/Redis.js"
import { makeEpochStore } from "../backfill/store/EpochStore.js"
import type { BlockSink } from "./BlockSink.js"
import type { RedisSinkKind, TextRelaySinkKind, TextSinkKind } from "./capabilities.js"
import { makeCliEventSink, makeCliSink } from "./cli.js"
import { makeJsonlEventSink, makeJsonlSink } from "./jsonl.js"
import { makeRedisSink } from "./redis.js"
import { DEFAULT_LIST_PREFIX, makeRedisListSink } from "./redis-list.js"
import type { RelayEventSink } from "./Sink.js"

/** The Redis key prefix a sink writes under: the epoch streams' or the list's (`--redis-prefix` wins). */
export const sinkPrefix = (kind: RedisSinkKind, given: string | undefined, historyPrefix: string): string =>
  given ?? (kind === "redis" ? historyPrefix : DEFAULT_LIST_PREFIX)

/** A sink into Redis, under `prefix`. */
export const makeRedisBackedSink = (kind: RedisSinkKind, prefix: string, format: WireFormat): Effect.Effect<BlockSink, never, Redis> =>
  Effect.map(Effect.service(Redis), (redis) =>
    kind === "redis" ? makeRedisSink(makeEpochStore(redis, { prefix }), { format }) : makeRedisListSink(redis, { prefix, format }))

/** A sink that prints: the table, or one JSON block per line to stdout or appended to `output`. */
export const makeStreamSink = (kind: TextSinkKind, format: WireFormat, output: string | undefined): BlockSink =>
  kind === "cli" ? makeCliSink() : makeJsonlSink({ format, ...(output === undefined ? {} : { path: output }) })

/** A relay sink that prints the events on stdout: aligned lines, or JSON lines with the block in `format`. */
export const makePrintedEventSink = (kind: TextRelaySinkKind, format: WireFormat): RelayEventSink<void> =>
  kind === "cli" ? makeCliEventSink() : makeJsonlEventSink(format)
