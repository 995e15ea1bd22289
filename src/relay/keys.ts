/**
 * The Redis key layout of the relay contract (docs/relay.md), for prefix `p` (default
 * "hecate:relay:").
 */
export const DEFAULT_RELAY_PREFIX = "hecate:relay:"

export interface RelayKeys {
  readonly prefix: string
  /** STREAM: `apply` / `undo` entries, ids `<seq>-<i>` (seq = the committed write's number). */
  readonly events: string
  /**
   * STREAM: `final` entries (blocks at least `depth` deep, never undone), ids `<seq>-<i>`: the
   * point, and `ref`, the id of the block's apply entry in `events`.
   */
  readonly final: string
  /** HASH: seq, producer (fencing token), depth, format, final point, node tip, seam. */
  readonly cursor: string
  /** LIST: the volatile window, oldest first, one `height slot hash eventId` entry per block. */
  readonly window: string
  /** ZSET: sparse final points (score = height, member = `slot hash`) for re-intersection. */
  readonly checkpoints: string
  /** HASH: counters (applies, undos, finals, writes, duplicates, reconnects, pauses, ...). */
  readonly metrics: string
  /** HASH: the producer's state (following / reconnecting / paused / waiting for the node / stopped), endpoint, since, heartbeat (liveness). */
  readonly status: string
}

export const relayKeys = (prefix: string = DEFAULT_RELAY_PREFIX): RelayKeys => ({
  prefix,
  events: `${prefix}events`,
  final: `${prefix}final`,
  cursor: `${prefix}cursor`,
  window: `${prefix}window`,
  checkpoints: `${prefix}checkpoints`,
  metrics: `${prefix}metrics`,
  status: `${prefix}status`
})
