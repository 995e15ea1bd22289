/**
 * The sink kinds a user can name (`backfill --sink`, `relay --sink`) and what each can do. The
 * commands and the backfill read this table instead of comparing sink names, so a new kind is a
 * row here and a module beside this one.
 */
import type { SinkCapabilities } from "./Sink.js"

const textSink = { needsRedis: false, resumable: false, epochsInParallel: false, fenced: false, text: true } as const

/** The backfill's sinks (`backfill --sink`). */
export const BACKFILL_SINK_CAPABILITIES = {
  // the epoch streams: one stream per epoch, committed in order under the producer lock
  redis: { needsRedis: true, resumable: true, epochsInParallel: true, rollbacks: false, fenced: true, text: false },
  // the Python Hecate's list: a staged list per attempt, appended in epoch order from its cursor
  "redis-list": { needsRedis: true, resumable: true, epochsInParallel: true, rollbacks: false, fenced: false, text: false },
  // a table or one JSON block per line, in epoch order: one ordered stream, nothing to resume
  cli: { ...textSink, rollbacks: false },
  jsonl: { ...textSink, rollbacks: false }
} as const satisfies Record<string, SinkCapabilities>

/** The relay's sinks (`relay --sink`): each carries the chain's undo events. */
export const RELAY_SINK_CAPABILITIES = {
  // events / final with an atomic cursor, fenced by the producer token
  redis: { needsRedis: true, resumable: true, epochsInParallel: false, rollbacks: true, fenced: true, text: false },
  // printed as they come: no cursor, a run starts at --from every time
  cli: { ...textSink, rollbacks: true },
  jsonl: { ...textSink, rollbacks: true }
} as const satisfies Record<string, SinkCapabilities>

export type SinkKind = keyof typeof BACKFILL_SINK_CAPABILITIES
export type RelaySinkKind = keyof typeof RELAY_SINK_CAPABILITIES

/** The `--sink` choices: the table's rows, in its order. */
export const SINK_KINDS = Object.keys(BACKFILL_SINK_CAPABILITIES) as ReadonlyArray<SinkKind>
export const RELAY_SINK_KINDS = Object.keys(RELAY_SINK_CAPABILITIES) as ReadonlyArray<RelaySinkKind>

/** The backfill kinds whose capabilities say `K: true`. */
type KindsWith<Table, K extends keyof SinkCapabilities> = { [S in keyof Table]: Table[S] extends Record<K, true> ? S : never }[keyof Table]

export type RedisSinkKind = KindsWith<typeof BACKFILL_SINK_CAPABILITIES, "needsRedis">
export type TextSinkKind = KindsWith<typeof BACKFILL_SINK_CAPABILITIES, "text">
export type TextRelaySinkKind = KindsWith<typeof RELAY_SINK_CAPABILITIES, "text">

/** A backfill sink kind that writes into Redis (and so needs a connection). */
export const needsRedis = (kind: SinkKind): kind is RedisSinkKind => BACKFILL_SINK_CAPABILITIES[kind].needsRedis

/** A relay sink kind that prints its events (no cursor, no Redis). */
export const printsEvents = (kind: RelaySinkKind): kind is TextRelaySinkKind => RELAY_SINK_CAPABILITIES[kind].text
