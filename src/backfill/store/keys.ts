/**
 * The Redis key layout of the epoch-stream contract (docs/redis-contract.md), for prefix `p`
 * (default "hecate:history:"). Everything here is the contract shared with consumers, except
 * `producerLock`, which Hecate adds so that two producers never write one prefix.
 */
export const DEFAULT_PREFIX = "hecate:history:"

export interface StoreKeys {
  readonly prefix: string
  /** `p + "epoch:"`: the stream of epoch N is this + N. */
  readonly epochPrefix: string
  /** STREAM of epoch N: entries {type: "batch", epoch, data}. */
  readonly stream: (epoch: number) => string
  /** HASH beside it: bytes_total, blocks_total, first_xadd_ts_ms, last_xadd_ts_ms. */
  readonly meta: (epoch: number) => string
  readonly resumeMap: string
  readonly readySet: string
  readonly lastSyncedEpoch: string
  readonly lowWatermark: string
  readonly eventStream: string
  readonly metrics: string
  /** STRING: the single-producer lock (Hecate's addition to the Python Hecate's keys). */
  readonly producerLock: string
  /**
   * STRING: the parts of epoch N's batch being written, until its last part makes them the
   * stream entry (Hecate's own, outside `epoch:`: no consumer sees it; it expires if a run dies).
   */
  readonly staging: (epoch: number) => string
}

export const storeKeys = (prefix: string = DEFAULT_PREFIX): StoreKeys => {
  const epochPrefix = `${prefix}epoch:`
  return {
    prefix,
    epochPrefix,
    stream: (epoch) => `${epochPrefix}${epoch}`,
    meta: (epoch) => `${epochPrefix}${epoch}:meta`,
    resumeMap: `${prefix}resume_map`,
    readySet: `${prefix}ready_set`,
    lastSyncedEpoch: `${prefix}last_synced_epoch`,
    lowWatermark: `${prefix}low_watermark`,
    eventStream: `${prefix}event_stream`,
    metrics: `${prefix}metrics`,
    producerLock: `${prefix}producer_lock`,
    staging: (epoch) => `${prefix}staging:${epoch}`
  }
}

/**
 * Python `datetime.now(timezone.utc).isoformat()`: `2026-07-27T05:41:55.123000+00:00`, with the
 * fraction omitted when it is zero (the Python Hecate's metrics timestamp format).
 */
export const isoTimestamp = (date: Date = new Date()): string => {
  const base = date.toISOString().slice(0, 19)
  const ms = date.getUTCMilliseconds()
  return ms === 0 ? `${base}+00:00` : `${base}.${String(ms * 1000).padStart(6, "0")}+00:00`
}
