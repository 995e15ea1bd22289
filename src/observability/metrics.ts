/**
 * Hecate's metrics (Effect `Metric`, exported as Prometheus text by `PrometheusMetrics.format()`)
 * and the live state the dashboard and /health read (`LiveState`). The metric values live in the
 * default MetricRegistry; a `LiveState` belongs to the `Telemetry` service that made it
 * (Telemetry.ts), one per run, so two runs in one process (tests, a library user) never share it.
 *
 * Updates come from synchronous callbacks (backfill's `onProgress`, the instrumented RelayStore),
 * so the methods below run `Metric.update` with `Effect.runSync` (a pure registry update).
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
import type { BackfillProgress } from "../backfill/backfill.js"
import { redactCredentials } from "../domain/redacted-url.js"

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

/** How old the last computed tip distance may be for a sample to use it. */
const TIP_SAMPLE_MAX_AGE_MS = 5_000

/** The counters exported from the start (at 0), not only after their first event. */
export const registerMetrics = (): void => {
  for (const counter of [epochsCompleted, epochsFailed, epochsRetried, rollbacksTotal, backpressurePausedSeconds]) update(counter, 0)
  update(backpressurePaused, 0)
}

/** A run's live state: what /health, /api/state and the dashboard show, and the observations that update it. */
export class LiveState {
  readonly startedAt = Date.now()
  readonly commands = new Set<CommandName>()
  blocks = 0
  bytes = 0
  readonly relay = {
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
  }
  readonly backfill = {
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
  }
  /** rollback depth → count, since the run started */
  readonly rollbackDepths = new Map<number, number>()
  readonly reconnectLog = new Ring<ReconnectRecord>(20)
  readonly paused = { since: undefined as number | undefined, seconds: 0 }
  readonly throughput = new Ring<ThroughputSample>(600)
  /** the tip distance /health last computed (the tip card's value), for the chart's samples */
  tipDistance: { readonly blocks: number | undefined; readonly at: number } | undefined = undefined
  readonly rollbacks = new Ring<RollbackRecord>(50)
  /** blocks/s over the last 5 s (the Telemetry layer samples every second) */
  private readonly recent: Array<{ t: number; blocks: number }> = []

  sampleThroughput(now = Date.now()): number {
    const recent = this.recent
    recent.push({ t: now, blocks: this.blocks })
    while (recent.length > 0 && now - recent[0]!.t > 5_000) recent.shift()
    const first = recent[0]!
    const bps = now > first.t ? ((this.blocks - first.blocks) * 1000) / (now - first.t) : 0
    update(blocksPerSecond, bps)
    // the chart shows what the tip card shows (the distance /health computes from the node's tip
    // now), sampled: with Ogmios or the checks gone the value is unknown and the chart has a gap,
    // not the distance as of the last write
    const d = this.tipDistance
    const tipBlocks = d !== undefined && now - d.at <= TIP_SAMPLE_MAX_AGE_MS ? d.blocks : undefined
    this.throughput.push({ t: now, blocksPerSecond: Math.round(bps * 10) / 10, blocks: this.blocks, tipBlocks })
    return bps
  }

  currentBlocksPerSecond(): number {
    return this.throughput.items.at(-1)?.blocksPerSecond ?? 0
  }

  observeBlocks(command: CommandName, blocks: number, bytes: number): void {
    update(tagged(blocksRelayed, { command }), 0)
    this.blocks += blocks
    this.bytes += bytes
    if (blocks > 0) update(tagged(blocksRelayed, { command }), blocks)
    if (bytes > 0) update(tagged(bytesRelayed, { command }), bytes)
  }

  observeRedisWrite(command: CommandName, seconds: number): void {
    update(tagged(redisWriteSeconds, { command }), seconds)
  }

  observeInflight(kind: "epoch_sessions" | "redis_writes", value: number): void {
    update(tagged(inflightRequests, { kind }), value)
  }

  observeTip(tip: { readonly slot: number; readonly height: number }, last: { readonly slot: number; readonly height: number }): void {
    this.relay.tipHeight = tip.height
    this.relay.tipSlot = tip.slot
    this.relay.lastHeight = last.height
    this.relay.lastSlot = last.slot
    update(tipDistanceBlocks, Math.max(0, tip.height - last.height))
    update(tipDistanceSlots, Math.max(0, tip.slot - last.slot))
  }

  observeRollback(depth: number, toHeight: number | undefined): void {
    this.relay.rollbacks++
    update(rollbacksTotal, 1)
    update(rollbackDepth, depth)
    this.rollbacks.push({ at: new Date().toISOString(), depth, toHeight })
    this.rollbackDepths.set(depth, (this.rollbackDepths.get(depth) ?? 0) + 1)
  }

  observeLag(command: CommandName, lag: number): void {
    if (command === "relay") this.relay.lag = lag
    update(tagged(consumerGroupLag, { command }), lag)
  }

  observePaused(paused: boolean, now = Date.now()): void {
    if (paused && this.paused.since === undefined) {
      this.paused.since = now
      update(backpressurePaused, 1)
    } else if (!paused && this.paused.since !== undefined) {
      const seconds = (now - this.paused.since) / 1000
      this.paused.since = undefined
      this.paused.seconds += seconds
      update(backpressurePausedSeconds, seconds)
      update(backpressurePaused, 0)
    }
  }

  observeReconnect(endpoint: string, cause?: string): void {
    this.relay.reconnects++
    this.reconnectLog.push({ at: new Date().toISOString(), endpoint, cause })
    update(tagged(reconnects, { endpoint }), 1)
  }

  observeEpoch(outcome: "completed" | "failed" | "retried"): void {
    switch (outcome) {
      case "completed":
        this.backfill.epochsDone++
        return update(epochsCompleted, 1)
      case "failed":
        this.backfill.epochsFailed++
        return update(epochsFailed, 1)
      case "retried":
        this.backfill.epochsRetried++
        return update(epochsRetried, 1)
    }
  }

  /** Updates the metrics and live state for one backfill progress event. */
  observeBackfillProgress(event: BackfillProgress): void {
    const b = this.backfill
    this.commands.add("backfill")
    const now = Date.now()
    const cell = (epoch: number): EpochCell => {
      let c = b.epochs.get(epoch)
      if (c === undefined) {
        c = { state: "pending", blocks: 0, attempts: 0, error: undefined, endpoint: undefined, startedAt: undefined, endedAt: undefined }
        b.epochs.set(epoch, c)
      }
      return c
    }
    switch (event._tag) {
      case "Planned":
        b.plan = { start: event.start, target: event.target, epochs: event.epochs, blocks: event.blocks }
        // the planned range as pending cells (a bounded range: one cell per epoch)
        if (event.target - event.start < 100_000) for (let e = event.start; e <= event.target; e++) cell(e)
        break
      case "EpochStarted": {
        this.observePaused(false)
        b.active.add(event.epoch)
        this.observeInflight("epoch_sessions", b.active.size)
        const c = cell(event.epoch)
        Object.assign(c, { state: "active", blocks: 0, attempts: event.attempt + 1, endpoint: redactCredentials(event.endpoint), startedAt: now, endedAt: undefined })
        break
      }
      case "EpochBatch":
        b.blocks += event.blocks
        b.firstBatchAt ??= now
        cell(event.epoch).blocks += event.blocks
        this.observeBlocks("backfill", event.blocks, 0)
        break
      case "EpochRetry": {
        b.active.delete(event.epoch)
        this.observeInflight("epoch_sessions", b.active.size)
        this.observeEpoch("retried")
        const c = cell(event.epoch)
        Object.assign(c, { state: "pending", attempts: event.attempt, error: redactCredentials(event.error) })
        break
      }
      case "EpochSynced": {
        b.active.delete(event.epoch)
        this.observeInflight("epoch_sessions", b.active.size)
        this.observeBlocks("backfill", 0, event.bytes)
        this.observeEpoch("completed")
        const c = cell(event.epoch)
        Object.assign(c, { state: c.state === "committed" ? "committed" : "synced", blocks: event.blocks, endedAt: now })
        break
      }
      case "EpochFailed": {
        b.active.delete(event.epoch)
        this.observeInflight("epoch_sessions", b.active.size)
        this.observeEpoch("failed")
        Object.assign(cell(event.epoch), { state: "failed", error: redactCredentials(event.error), endedAt: now })
        break
      }
      case "Committed":
        b.lastCommitted = event.lastSyncedEpoch
        for (const [epoch, c] of b.epochs) if (epoch <= event.lastSyncedEpoch && c.state === "synced") c.state = "committed"
        break
      case "BackpressurePaused":
        this.observeLag("backfill", event.lag)
        this.observePaused(true)
        break
      case "NothingToDo":
        break
    }
  }
}
