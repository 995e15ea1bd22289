/**
 * What Redis itself says about a Hecate namespace, read-only: the state the dashboard and `status`
 * show next to the process's own live numbers, so a page served by one process (or the terminal of
 * an operator who runs nothing) still sees the backfill's epochs, every consumer group and how far
 * behind it is, the relay's status, and the Redis server.
 *
 * - epoch streams (`h` = history prefix): `last_synced_epoch`, `low_watermark`, `ready_set`
 *   (complete, waiting for the epochs before them), `resume_map` (in flight, with the last relayed
 *   height), the metrics hash (backpressure flag and since when), and `XINFO GROUPS` of every
 *   stream still kept (from `low_watermark` on, capped at MAX_STREAMS);
 * - relay (`r` = relay prefix): `XINFO GROUPS` of `events` and `final`, their lengths, the status
 *   hash (following / reconnecting / paused, since, endpoint, last reconnect cause) and counters;
 * - Redis: version, memory, clients, uptime, PING round trip.
 *
 * Every part is best-effort: what cannot be read is left out, never an error of the caller.
 */
import type { Redis as IORedis } from "ioredis"
import { redactCredentials } from "../domain/redacted-url.js"
import { storeKeys } from "../backfill/store/keys.js"
import { relayKeys } from "../relay/keys.js"

/** Streams inspected at most per read (a consumer far behind leaves many; the oldest matter most). */
export const MAX_STREAMS = 64

export interface GroupInfo {
  readonly name: string
  /** entries not yet delivered to the group (Redis ≥ 7; undefined when Redis cannot say) */
  readonly lag: number | undefined
  /** delivered, not acknowledged */
  readonly pending: number
  readonly consumers: number
  readonly lastDeliveredId: string
}

export interface EpochGroup {
  readonly name: string
  /** epoch streams this group is registered on */
  readonly epochs: number
  /** epochs it has not finished (entries undelivered or unacknowledged), oldest first */
  readonly behind: ReadonlyArray<number>
  readonly lag: number
  readonly pending: number
}

export interface EpochOverview {
  readonly prefix: string
  readonly lastSyncedEpoch: number | undefined
  readonly lowWatermark: number | undefined
  /** complete, not yet committed (an earlier epoch is still missing) */
  readonly ready: ReadonlyArray<number>
  /** in flight: epoch → last relayed height */
  readonly inFlight: Readonly<Record<string, number>>
  readonly epochsTotal: number | undefined
  readonly blocksTotal: number | undefined
  /** last_synced_epoch − low_watermark, as backpressure counts it against REDIS_MAX_UNCONSUMED_EPOCHS */
  readonly unconsumed: number | undefined
  readonly backpressure: { readonly paused: boolean; readonly since: string | undefined }
  /** the kept streams, oldest first, with their groups */
  readonly streams: ReadonlyArray<{ readonly epoch: number; readonly length: number; readonly groups: ReadonlyArray<GroupInfo> }>
  readonly groups: ReadonlyArray<EpochGroup>
}

export interface RelayStreamOverview {
  readonly stream: "events" | "final"
  readonly length: number
  readonly groups: ReadonlyArray<GroupInfo>
}

export interface RelayOverview {
  readonly prefix: string
  readonly state: string | undefined
  readonly since: string | undefined
  readonly endpoint: string | undefined
  /** why the last reconnect happened (the connection error) */
  readonly lastReconnectCause: string | undefined
  readonly streams: ReadonlyArray<RelayStreamOverview>
  readonly counters: Readonly<Record<string, number>>
  /** the newest relayed block (the window's newest, else the final cursor) */
  readonly height: number | undefined
  /** the node's tip as carried by the last write */
  readonly tipHeight: number | undefined
  /** tipHeight − height, as of the last write; undefined while the relay is not running or waits for the node */
  readonly tipDistance: number | undefined
  /** when the relay last stamped its status hash as alive */
  readonly lastSeen?: string | undefined
  /** the state the hash still holds when the relay is "not running" (its stamp went stale) */
  readonly lastState?: string | undefined
  /** the node's tip height while the relay waits for a node that is behind its cursor */
  readonly nodeTipHeight?: number | undefined
}

/** A relay whose stamp is older than this many intervals (and at least STALE_MIN_MS) is taken for dead. */
const STALE_INTERVALS = 3
const STALE_MIN_MS = 10_000

/**
 * The relay's state as a reader should show it: "not running" when the status hash says it runs
 * but its heartbeat went stale (the process was killed, or died without a word).
 */
export const relayLiveness = (status: Readonly<Record<string, string>>, now: number): { state: string | undefined; lastSeen: string | undefined; lastState: string | undefined } => {
  const beat = num(status["heartbeat_ms"])
  const every = num(status["heartbeat_every_ms"]) ?? 2_000
  const state = status["state"]
  const lastSeen = beat === undefined ? undefined : new Date(beat).toISOString()
  if (state === undefined || state === "stopped" || beat === undefined) return { state, lastSeen, lastState: undefined }
  if (now - beat > Math.max(STALE_INTERVALS * every, STALE_MIN_MS)) return { state: "not running", lastSeen, lastState: state }
  return { state, lastSeen, lastState: undefined }
}

export interface RedisOverview {
  readonly reachable: boolean
  readonly error?: string
  readonly version?: string
  readonly usedMemory?: string
  readonly clients?: number
  readonly uptimeSeconds?: number
  readonly pingMs?: number
}

export interface Overview {
  readonly redis: RedisOverview
  readonly epochs?: EpochOverview
  readonly relay?: RelayOverview
}

const num = (v: unknown): number | undefined => {
  if (v === null || v === undefined || v === "") return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}

/** XINFO GROUPS reply (flat field/value arrays) → GroupInfo. */
export const parseGroups = (reply: unknown): Array<GroupInfo> => {
  if (!Array.isArray(reply)) return []
  return reply.map((g: Array<unknown>) => {
    const f: Record<string, unknown> = {}
    for (let i = 0; i + 1 < g.length; i += 2) f[String(g[i])] = g[i + 1]
    return {
      name: String(f["name"] ?? "?"),
      lag: num(f["lag"]),
      pending: num(f["pending"]) ?? 0,
      consumers: num(f["consumers"]) ?? 0,
      lastDeliveredId: String(f["last-delivered-id"] ?? "")
    }
  })
}

const isoOfMs = (v: string | undefined): string | undefined => {
  const n = num(v)
  return n === undefined ? undefined : new Date(n).toISOString()
}

const info = (text: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":")
    if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

const readRedis = async (client: IORedis): Promise<RedisOverview> => {
  try {
    const started = performance.now()
    await client.ping()
    const pingMs = Math.round((performance.now() - started) * 10) / 10
    const i = info(await client.info())
    return {
      reachable: true,
      pingMs,
      ...(i["redis_version"] === undefined ? {} : { version: i["redis_version"] }),
      ...(i["used_memory_human"] === undefined ? {} : { usedMemory: i["used_memory_human"] }),
      ...(num(i["connected_clients"]) === undefined ? {} : { clients: num(i["connected_clients"])! }),
      ...(num(i["uptime_in_seconds"]) === undefined ? {} : { uptimeSeconds: num(i["uptime_in_seconds"])! })
    }
  } catch (e) {
    return { reachable: false, error: redactCredentials(e instanceof Error ? e.message : String(e)) }
  }
}

const unfinished = (g: GroupInfo): boolean => g.pending > 0 || (g.lag ?? 0) > 0

export const readEpochOverview = async (client: IORedis, prefix: string): Promise<EpochOverview> => {
  const keys = storeKeys(prefix)
  const [ls, lw, ready, resume, metrics] = await Promise.all([
    client.get(keys.lastSyncedEpoch),
    client.get(keys.lowWatermark),
    client.smembers(keys.readySet),
    client.hgetall(keys.resumeMap),
    client.hgetall(keys.metrics)
  ])
  const lastSyncedEpoch = num(ls)
  const lowWatermark = num(lw)
  const inFlight: Record<string, number> = {}
  for (const [epoch, height] of Object.entries(resume)) {
    const h = num(height)
    if (h !== undefined) inFlight[epoch] = h
  }
  const readyEpochs = ready.map(Number).filter(Number.isFinite).sort((a, b) => a - b)
  // the kept streams: committed ones from the low watermark on, and those written past the commit
  const candidates = new Set<number>()
  if (lowWatermark !== undefined && lastSyncedEpoch !== undefined) {
    for (let e = lowWatermark; e <= lastSyncedEpoch && candidates.size < MAX_STREAMS; e++) candidates.add(e)
  }
  for (const e of [...readyEpochs, ...Object.keys(inFlight).map(Number)]) if (candidates.size < MAX_STREAMS) candidates.add(e)
  const epochs = [...candidates].sort((a, b) => a - b)
  const pipeline = client.pipeline()
  for (const e of epochs) {
    pipeline.xlen(keys.stream(e))
    pipeline.xinfo("GROUPS", keys.stream(e))
  }
  const replies = epochs.length === 0 ? [] : ((await pipeline.exec()) ?? [])
  const streams: Array<EpochOverview["streams"][number]> = []
  epochs.forEach((epoch, i) => {
    const [lenErr, length] = replies[2 * i] ?? [null, 0]
    const [groupsErr, groups] = replies[2 * i + 1] ?? [null, []]
    if (lenErr !== null || Number(length) === 0) return
    streams.push({ epoch, length: Number(length), groups: groupsErr === null ? parseGroups(groups) : [] })
  })
  const byName = new Map<string, { epochs: number; behind: Array<number>; lag: number; pending: number }>()
  for (const s of streams) {
    for (const g of s.groups) {
      const agg = byName.get(g.name) ?? { epochs: 0, behind: [], lag: 0, pending: 0 }
      agg.epochs++
      agg.lag += g.lag ?? 0
      agg.pending += g.pending
      if (unfinished(g)) agg.behind.push(s.epoch)
      byName.set(g.name, agg)
    }
  }
  return {
    prefix,
    lastSyncedEpoch,
    lowWatermark,
    ready: readyEpochs,
    inFlight,
    epochsTotal: num(metrics["epochs_total"]),
    blocksTotal: num(metrics["blocks_total"]),
    unconsumed: lastSyncedEpoch === undefined || lowWatermark === undefined ? undefined : Math.max(0, lastSyncedEpoch - lowWatermark),
    backpressure: {
      paused: metrics["backpressure_paused"] === "1",
      since: metrics["backpressure_paused"] === "1" && metrics["backpressure_paused_since"] !== "" ? metrics["backpressure_paused_since"] : undefined
    },
    streams,
    groups: [...byName].map(([name, g]) => ({ name, ...g })).sort((a, b) => a.name.localeCompare(b.name))
  }
}

export const readRelayOverview = async (client: IORedis, prefix: string): Promise<RelayOverview> => {
  const keys = relayKeys(prefix)
  const pipeline = client.pipeline()
  pipeline.xlen(keys.events)
  pipeline.xinfo("GROUPS", keys.events)
  pipeline.xlen(keys.final)
  pipeline.xinfo("GROUPS", keys.final)
  pipeline.hgetall(keys.status)
  pipeline.hgetall(keys.metrics)
  pipeline.lindex(keys.window, -1)
  pipeline.hmget(keys.cursor, "final_height", "tip_height")
  const r = (await pipeline.exec()) ?? []
  const ok = (i: number): unknown => (r[i]?.[0] === null ? r[i]?.[1] : undefined)
  const status = (ok(4) ?? {}) as Record<string, string>
  const counters: Record<string, number> = {}
  for (const [k, v] of Object.entries((ok(5) ?? {}) as Record<string, string>)) {
    const n = num(v)
    if (n !== undefined) counters[k] = n
  }
  const newest = ok(6)
  const cursor = (ok(7) ?? []) as Array<string | null>
  const height = typeof newest === "string" ? num(newest.split(" ")[0]) : num(cursor[0])
  const tipHeight = num(cursor[1])
  const live = relayLiveness(status, Date.now())
  // the tip as of the last write says nothing once the relay stopped, nor while the node is behind the cursor
  const known = live.state !== "not running" && live.state !== "stopped" && live.state !== "waiting for the node"
  return {
    prefix,
    height,
    tipHeight,
    tipDistance: !known || height === undefined || tipHeight === undefined ? undefined : Math.max(0, tipHeight - height),
    state: live.state,
    lastSeen: live.lastSeen,
    lastState: live.lastState,
    nodeTipHeight: live.state === "waiting for the node" ? num(status["node_tip_height"]) : undefined,
    since: isoOfMs(status["since_ms"]),
    endpoint: status["endpoint"] === undefined ? undefined : redactCredentials(status["endpoint"]),
    lastReconnectCause: status["reconnect_cause"] === undefined || status["reconnect_cause"] === "" ? undefined : redactCredentials(status["reconnect_cause"]),
    streams: [
      { stream: "events", length: Number(ok(0) ?? 0), groups: parseGroups(ok(1)) },
      { stream: "final", length: Number(ok(2) ?? 0), groups: parseGroups(ok(3)) }
    ],
    counters
  }
}

export const readOverview = async (
  client: IORedis,
  options: { readonly historyPrefix?: string | undefined; readonly relayPrefix?: string | undefined }
): Promise<Overview> => {
  const redis = await readRedis(client)
  if (!redis.reachable) return { redis }
  const [epochs, relay] = await Promise.all([
    options.historyPrefix === undefined ? undefined : readEpochOverview(client, options.historyPrefix).catch(() => undefined),
    options.relayPrefix === undefined ? undefined : readRelayOverview(client, options.relayPrefix).catch(() => undefined)
  ])
  return { redis, ...(epochs === undefined ? {} : { epochs }), ...(relay === undefined ? {} : { relay }) }
}
