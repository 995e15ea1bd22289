/**
 * Hecate's metrics (Effect `Metric`, exported as Prometheus text by `PrometheusMetrics.format()`)
 * and the in-process live state the dashboard and /health read. Both are per process: the metric
 * values live in the default MetricRegistry, the live state in this module.
 *
 * Updates come from synchronous callbacks (backfill's `onProgress`, the instrumented RelayStore),
 * so the helpers below run `Metric.update` with `Effect.runSync` (a pure registry update).
 *
 * | metric | type | what |
 * |---|---|---|
 * | hecate_blocks_relayed_total{command} | counter | blocks written (backfill: epoch-stream batches; relay: applies) |
 * | hecate_bytes_relayed_total{command} | counter | bytes of block payloads written |
 * | hecate_blocks_per_second | gauge | throughput over the last 5 s |
 * | hecate_epochs_completed_total / _failed_total / _retried_total | counter | backfill epochs |
 * | hecate_tip_distance_slots / hecate_tip_distance_blocks | gauge | node tip − last relayed block |
 * | hecate_rollbacks_total | counter | rollbacks the relay wrote (one per chain-sync rollback with undos) |
 * | hecate_rollback_depth | histogram | blocks undone per rollback |
 * | hecate_inflight_requests{kind} | gauge | epoch_sessions (backfill) and redis_writes in flight |
 * | hecate_redis_write_seconds{command} | histogram | latency of one Redis write (relay Lua write, backfill batch) |
 * | hecate_backpressure_paused | gauge | 1 while paused on slow consumers |
 * | hecate_backpressure_paused_seconds_total | counter | time spent paused |
 * | hecate_consumer_group_lag{command} | gauge | relay: largest group lag (entries); backfill: unconsumed epochs |
 * | hecate_reconnects_total{endpoint} | counter | Ogmios reconnects, by the endpoint dialled |
 */
import { Effect, Metric } from "effect"

export type CommandName = "backfill" | "relay" | "sync" | "serve" | "refresh" | "consume"

export const blocksRelayed = Metric.counter("hecate_blocks_relayed_total", { description: "blocks written to the sink", incremental: true })
export const bytesRelayed = Metric.counter("hecate_bytes_relayed_total", { description: "bytes of block payloads written", incremental: true })
export const blocksPerSecond = Metric.gauge("hecate_blocks_per_second", { description: "blocks written per second (last 5 s)" })
export const epochsCompleted = Metric.counter("hecate_epochs_completed_total", { description: "backfill epochs synced and committed", incremental: true })
export const epochsFailed = Metric.counter("hecate_epochs_failed_total", { description: "backfill epochs failed after all attempts", incremental: true })
export const epochsRetried = Metric.counter("hecate_epochs_retried_total", { description: "backfill epoch attempts retried", incremental: true })
export const tipDistanceSlots = Metric.gauge("hecate_tip_distance_slots", { description: "node tip slot minus the last relayed block's slot" })
export const tipDistanceBlocks = Metric.gauge("hecate_tip_distance_blocks", { description: "node tip height minus the last relayed block's height" })
export const rollbacksTotal = Metric.counter("hecate_rollbacks_total", { description: "rollbacks written by the relay", incremental: true })
export const ROLLBACK_DEPTH_BOUNDARIES = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100, 500, 2160] as const
export const rollbackDepth = Metric.histogram("hecate_rollback_depth", {
  description: "blocks undone per rollback",
  boundaries: ROLLBACK_DEPTH_BOUNDARIES
})
export const inflightRequests = Metric.gauge("hecate_inflight_requests", { description: "requests in flight, by kind" })
export const redisWriteSeconds = Metric.histogram("hecate_redis_write_seconds", {
  description: "latency of one Redis write",
  boundaries: Metric.exponentialBoundaries({ start: 0.0005, factor: 2, count: 14 })
})
export const backpressurePaused = Metric.gauge("hecate_backpressure_paused", { description: "1 while paused on slow consumers" })
export const backpressurePausedSeconds = Metric.counter("hecate_backpressure_paused_seconds_total", {
  description: "seconds spent paused on slow consumers",
  incremental: true
})
export const consumerGroupLag = Metric.gauge("hecate_consumer_group_lag", { description: "consumer lag (relay: entries; backfill: unconsumed epochs)" })
export const reconnects = Metric.counter("hecate_reconnects_total", { description: "Ogmios reconnects by endpoint", incremental: true })

const update = <In>(metric: Metric.Metric<In, unknown>, value: In): void => {
  Effect.runSync(Metric.update(metric, value))
}
const tagged = <In, S>(metric: Metric.Metric<In, S>, attributes: Record<string, string>) => Metric.withAttributes(metric, attributes)

/** A ring of the most recent items. */
class Ring<A> {
  readonly items: Array<A> = []
  constructor(private readonly size: number) {}
  push(item: A): void {
    this.items.push(item)
    if (this.items.length > this.size) this.items.splice(0, this.items.length - this.size)
  }
}

export interface RollbackRecord {
  readonly at: string
  readonly depth: number
  /** height of the block the chain rolled back to */
  readonly toHeight: number | undefined
}

export interface ThroughputSample {
  /** ms since the epoch */
  readonly t: number
  readonly blocksPerSecond: number
  readonly blocks: number
  /** node tip height − relayed height at that moment (relay only) */
  readonly tipBlocks?: number | undefined
}

/** pending → active → synced (complete, waiting for earlier epochs) → committed; or failed */
export type EpochState = "pending" | "active" | "synced" | "committed" | "failed"

export interface EpochCell {
  state: EpochState
  /** blocks written by the current attempt */
  blocks: number
  attempts: number
  /** the error of the last failed attempt (retried or final) */
  error: string | undefined
  endpoint: string | undefined
  startedAt: number | undefined
  endedAt: number | undefined
}

export interface ReconnectRecord {
  readonly at: string
  readonly endpoint: string
  readonly cause: string | undefined
}

export interface BackfillPlan {
  readonly start: number
  readonly target: number
  readonly epochs: number
  readonly blocks: number
}

/** The process's live state: what /health, /api/state and the dashboard show. */
export const live = {
  startedAt: Date.now(),
  commands: new Set<CommandName>(),
  blocks: 0,
  bytes: 0,
  relay: {
    writes: 0,
    lastHeight: undefined as number | undefined,
    lastSlot: undefined as number | undefined,
    tipHeight: undefined as number | undefined,
    tipSlot: undefined as number | undefined,
    lastWriteAt: undefined as string | undefined,
    /** connecting | following | reconnecting | paused | waiting for the node | stopped (the relay's status), or down (session failed) */
    connection: undefined as string | undefined,
    endpoint: undefined as string | undefined,
    /** the node's tip height while the relay waits for a node behind its cursor */
    nodeTipHeight: undefined as number | undefined,
    lastError: undefined as string | undefined,
    /** the last failed relay write (an OOM reply, a timeout), cleared by the next write that succeeds */
    lastWriteError: undefined as { readonly message: string; readonly at: string } | undefined,
    lag: 0,
    rollbacks: 0,
    reconnects: 0
  },
  backfill: {
    plan: undefined as BackfillPlan | undefined,
    epochsDone: 0,
    epochsFailed: 0,
    epochsRetried: 0,
    lastCommitted: undefined as number | undefined,
    blocks: 0,
    active: new Set<number>(),
    /** the epoch map: every planned epoch's state (the dashboard's grid) */
    epochs: new Map<number, EpochCell>(),
    /** when the first batch was written (for the run's average rate and ETA) */
    firstBatchAt: undefined as number | undefined
  },
  /** rollback depth → count, since the process started */
  rollbackDepths: new Map<number, number>(),
  reconnectLog: new Ring<ReconnectRecord>(20),
  paused: { since: undefined as number | undefined, seconds: 0 },
  throughput: new Ring<ThroughputSample>(600),
  /** the tip distance /health last computed (the tip card's value), for the chart's samples */
  tipDistance: undefined as { readonly blocks: number | undefined; readonly at: number } | undefined,
  rollbacks: new Ring<RollbackRecord>(50)
}

/** How old the last computed tip distance may be for a sample to use it. */
const TIP_SAMPLE_MAX_AGE_MS = 5_000

/** blocks/s over the last 5 s, sampled every second (the sampler starts with the first observation). */
const recent: Array<{ t: number; blocks: number }> = []
let sampler: NodeJS.Timeout | undefined
export const sampleThroughput = (now = Date.now()): number => {
  recent.push({ t: now, blocks: live.blocks })
  while (recent.length > 0 && now - recent[0]!.t > 5_000) recent.shift()
  const first = recent[0]!
  const bps = now > first.t ? ((live.blocks - first.blocks) * 1000) / (now - first.t) : 0
  update(blocksPerSecond, bps)
  // the chart shows what the tip card shows (the distance /health computes from the node's tip
  // now), sampled: with Ogmios or the checks gone the value is unknown and the chart has a gap,
  // not the distance as of the last write
  const d = live.tipDistance
  const tipBlocks = d !== undefined && now - d.at <= TIP_SAMPLE_MAX_AGE_MS ? d.blocks : undefined
  live.throughput.push({ t: now, blocksPerSecond: Math.round(bps * 10) / 10, blocks: live.blocks, tipBlocks })
  return bps
}
export const startSampler = (): void => {
  if (sampler !== undefined) return
  // exported from the start (at 0), not only after their first event
  for (const counter of [epochsCompleted, epochsFailed, epochsRetried, rollbacksTotal, backpressurePausedSeconds]) update(counter, 0)
  update(backpressurePaused, 0)
  sampleThroughput()
  sampler = setInterval(() => sampleThroughput(), 1_000)
  sampler.unref()
}
export const currentBlocksPerSecond = (): number => live.throughput.items.at(-1)?.blocksPerSecond ?? 0

// ---- observations ----------------------------------------------------------------------------

export const observeBlocks = (command: CommandName, blocks: number, bytes: number): void => {
  startSampler()
  update(tagged(blocksRelayed, { command }), 0)
  live.blocks += blocks
  live.bytes += bytes
  if (blocks > 0) update(tagged(blocksRelayed, { command }), blocks)
  if (bytes > 0) update(tagged(bytesRelayed, { command }), bytes)
}

export const observeRedisWrite = (command: CommandName, seconds: number): void => {
  update(tagged(redisWriteSeconds, { command }), seconds)
}

export const observeInflight = (kind: "epoch_sessions" | "redis_writes", value: number): void => {
  update(tagged(inflightRequests, { kind }), value)
}

export const observeTip = (tip: { readonly slot: number; readonly height: number }, last: { readonly slot: number; readonly height: number }): void => {
  live.relay.tipHeight = tip.height
  live.relay.tipSlot = tip.slot
  live.relay.lastHeight = last.height
  live.relay.lastSlot = last.slot
  update(tipDistanceBlocks, Math.max(0, tip.height - last.height))
  update(tipDistanceSlots, Math.max(0, tip.slot - last.slot))
}

export const observeRollback = (depth: number, toHeight: number | undefined): void => {
  live.relay.rollbacks++
  update(rollbacksTotal, 1)
  update(rollbackDepth, depth)
  live.rollbacks.push({ at: new Date().toISOString(), depth, toHeight })
  live.rollbackDepths.set(depth, (live.rollbackDepths.get(depth) ?? 0) + 1)
}

export const observeLag = (command: CommandName, lag: number): void => {
  if (command === "relay") live.relay.lag = lag
  update(tagged(consumerGroupLag, { command }), lag)
}

export const observePaused = (paused: boolean, now = Date.now()): void => {
  if (paused && live.paused.since === undefined) {
    live.paused.since = now
    update(backpressurePaused, 1)
  } else if (!paused && live.paused.since !== undefined) {
    const seconds = (now - live.paused.since) / 1000
    live.paused.since = undefined
    live.paused.seconds += seconds
    update(backpressurePausedSeconds, seconds)
    update(backpressurePaused, 0)
  }
}

export const observeReconnect = (endpoint: string, cause?: string): void => {
  live.relay.reconnects++
  live.reconnectLog.push({ at: new Date().toISOString(), endpoint, cause })
  update(tagged(reconnects, { endpoint }), 1)
}

export const observeEpoch = (outcome: "completed" | "failed" | "retried"): void => {
  switch (outcome) {
    case "completed":
      live.backfill.epochsDone++
      return update(epochsCompleted, 1)
    case "failed":
      live.backfill.epochsFailed++
      return update(epochsFailed, 1)
    case "retried":
      live.backfill.epochsRetried++
      return update(epochsRetried, 1)
  }
}
