/**
 * The pull side of the consumer: `ChainReader.next()` returns the chain's next item, read from the
 * producer's keys with one consumer group, and a `commit` that acknowledges it in Redis.
 *
 * Order of the sequence
 * 1. History (`history` prefix, docs/redis-contract.md): epoch streams from `low_watermark` up,
 *    one epoch at a time, each epoch only once `last_synced_epoch ≥ N` (the producer's commit:
 *    before it the stream may still be deleted and rewritten by a retry). Every block is an
 *    `Apply` that is final already. An entry holds a batch of blocks; it is XACKed once all of its
 *    blocks are acknowledged, and how many of a half-acknowledged entry's blocks were
 *    acknowledged is kept in `history consumer:<group>:progress` so a restart resumes inside it.
 * 2. Relay (`relay` prefix, docs/relay.md): `events` (`apply`/`undo`) merged with `final` by
 *    write number (ids are `<seq>-<i>` in both streams; within one write the events come first).
 *    With both prefixes, the switch happens after the cursor's `seam_epoch` (written by `sync`
 *    when it created the relay cursor at the last backfilled block), so the first event is the
 *    block after the last backfilled one. Without a relay cursor yet, the history is followed
 *    as it is published; a cursor without a seam means the relay started at origin (`sync` with
 *    nothing to backfill).
 *
 * Each stream is read own-pending first (what this consumer name was given before a restart and
 * never acknowledged), then what another consumer of the group left pending for `claimIdleMs`
 * (XAUTOCLAIM), then new entries: a dead consumer's entries come before the ones after them.
 *
 * Groups are created at id 0 (never `$`): on `events`/`final` at start-up (MKSTREAM, so the relay
 * keeps what the group has not read and counts its lag), on an epoch stream once it is published,
 * for every group in the registry `history consumer_groups`, so the producer's cleanup never
 * sees an epoch as consumed by all groups while a registered group has not read it.
 */
import type { Redis } from "ioredis"
import { BYRON_EPOCH_SLOTS } from "../domain/block.js"
import { parse } from "../json/lossless.js"
import { storeKeys } from "../backfill/store/keys.js"
import { relayKeys } from "../relay/keys.js"
import { progressKey } from "./acknowledged.js"
import { ConsumerError } from "./errors.js"
import { nameProblem } from "./names.js"
import { prefixContents, prefixProblem } from "./prefixes.js"
import { compareIds, createGroup, GroupReader, groupLost, isMissing, parseId, type StreamEntry } from "./reader.js"

export interface ChainPoint {
  readonly slot: number
  /** header hash (Ogmios `id`, Hecate's `hash`) */
  readonly id: string
  readonly height: number
}

export type ItemSource = "history" | "events" | "final"

export interface RawItemBase {
  /** unique within the group: `<stream key>/<entry id>` (+ `/<index>` for a block of a history batch) */
  readonly id: string
  /**
   * The item's place in the group's sequence, as a string whose order (plain `<`) is the order of
   * the sequence: a handler that commits it with its state can skip every item at or below its
   * last one after a restart (O(1) state instead of a set of ids). Entries claimed from another
   * consumer can come after a higher position (see docs/consumer.md, limits).
   */
  readonly position: string
  readonly point: ChainPoint
  readonly source: ItemSource
}
export interface RawApply extends RawItemBase {
  readonly _tag: "Apply"
  /** the block as published (wire format `hecate` or `ogmios`), integers beyond 2^53 as bigint */
  readonly block: unknown
  /** true for history blocks (a backfilled epoch is final); relay applies become final later */
  readonly final: boolean
}
export interface RawUndo extends RawItemBase {
  readonly _tag: "Undo"
  /** the undone block, the same content as its Apply */
  readonly block: unknown
}
export interface RawFinal extends RawItemBase {
  readonly _tag: "Final"
}
export type RawItem = RawApply | RawUndo | RawFinal

export interface ReadItem {
  readonly item: RawItem
  /** acknowledges the item in Redis (XACK, or the progress of a history batch) */
  readonly commit: () => Promise<void>
}

export interface ChainReaderOptions {
  /** the connection for reads (it blocks on XREADGROUP BLOCK: give the reader its own) */
  readonly redis: Redis
  /** the connection for acknowledgements and bookkeeping (may be the same as `redis`) */
  readonly control?: Redis
  /** the backfill's prefix (e.g. "hecate:history:"); omit for a relay only */
  readonly history?: string | undefined
  /** the relay's prefix (e.g. "hecate:relay:"); omit for a backfill only */
  readonly relay?: string | undefined
  readonly group: string
  readonly consumer: string
  /** entries per history read (entries are whole batches, 10–20 MB on mainnet; default 1) */
  readonly historyCount?: number
  /** entries per events/final read (default 100) */
  readonly eventsCount?: number
  /** pending entries idle this long belong to a dead consumer and are claimed (default 60 000 ms) */
  readonly claimIdleMs?: number
  /** how long one wait for new data lasts (XREADGROUP BLOCK, polls of last_synced_epoch; default 500 ms) */
  readonly pollMs?: number
  /**
   * A group new to a history whose first epochs were already read by the other groups and
   * cleaned up starts at the first epoch left, with a warning, instead of failing with
   * `LateGroup` (default false: a group never silently starts mid-chain).
   */
  readonly fromAvailable?: boolean
  /**
   * Where notices go: `info` while the prefixes hold nothing yet (what the consumer waits for),
   * `warn` for a late group started with `fromAvailable` and for another live consumer in the
   * group. Default: warnings on stderr (console.warn), info dropped.
   */
  readonly log?: (level: "info" | "warn", message: string) => void
  /** how often the waiting notice repeats and the group's other consumers are looked at (default 30 000 ms) */
  readonly noticeEveryMs?: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const intOr = (text: string | null | undefined): number | undefined => {
  if (text === null || text === undefined || text === "") return undefined
  const n = Number(text)
  return Number.isInteger(n) ? n : undefined
}

type BlockRecord = Record<string, unknown>

/** The point of a published block in either wire format; EBBs carry no slot (null in `hecate`). */
const pointOf = (block: BlockRecord, previousSlot: number): ChainPoint => {
  const id = typeof block["hash"] === "string" ? block["hash"] : block["id"]
  if (typeof id !== "string" || typeof block["height"] !== "number") {
    throw new ConsumerError({ reason: "Malformed", detail: `a history block without hash/id or height: ${Object.keys(block).join(",")}` })
  }
  // an EBB sits at the first slot of its Byron epoch (the relay's entries carry that slot too)
  const slot = typeof block["slot"] === "number" ? block["slot"] : (Math.floor(previousSlot / BYRON_EPOCH_SLOTS) + 1) * BYRON_EPOCH_SLOTS
  return { slot, id, height: block["height"] }
}

const pad = (n: number, width: number): string => String(n).padStart(width, "0")

/**
 * Positions: `h:<epoch>:<entry ms>-<entry seq>:<index>` then `r:<write>:<stream>:<index>`, fixed
 * width, so string order is sequence order: history before relay ("h" < "r"), epochs, entries and
 * blocks ascending; relay writes ascending, within a write its events (0) before its finals (1),
 * which is the order the merge of `events` and `final` hands them out.
 */
export const historyPosition = (epoch: number, entryId: string, index: number): string => {
  const [ms, seq] = parseId(entryId)
  return `h:${pad(epoch, 10)}:${pad(ms, 16)}-${pad(seq, 10)}:${pad(index, 8)}`
}
export const relayPosition = (entryId: string, source: "events" | "final"): string => {
  const [seq, i] = parseId(entryId)
  return `r:${pad(seq, 16)}:${source === "events" ? 0 : 1}:${pad(i, 8)}`
}

/** A history entry whose blocks are handed out one by one. */
interface OpenBatch {
  readonly epoch: number
  readonly reader: GroupReader
  readonly key: string
  readonly entryId: string
  readonly blocks: ReadonlyArray<BlockRecord>
  /** next block to hand out */
  next: number
  /** blocks acknowledged so far (counting the ones a previous session acknowledged) */
  acked: number
}

/** Throws a TypeError for a group or consumer name that cannot be used (see ./names.ts). */
export const checkNames = (options: { readonly group: string; readonly consumer: string }): void => {
  const problem = nameProblem("group", options.group) ?? nameProblem("consumer", options.consumer)
  if (problem !== undefined) throw new TypeError(`consume: ${problem}`)
}

export class ChainReader {
  private readonly control: Redis
  private readonly hkeys
  private readonly rkeys
  private readonly historyCount: number
  private readonly eventsCount: number
  private readonly claimIdleMs: number
  private readonly pollMs: number
  private closed = false
  private started = false
  private readonly noticeEveryMs: number
  private readonly log: (level: "info" | "warn", message: string) => void
  /** the prefix held nothing at start-up: what the consumer waits for, until it appears */
  private waitingFor: {
    readonly kind: "history" | "relay"
    readonly prefix: string
    readonly since: number
    /** the prefix with a trailing colon, when a producer's keys exist under it */
    readonly hint: string | undefined
  } | undefined
  private lastCheck = Number.NEGATIVE_INFINITY
  /** the epoch stream read last (the one other consumers of the group are looked for on) */
  private lastEpochKey: string | undefined
  /** other consumers of the group already warned about */
  private readonly company = new Set<string>()
  private phase: "history" | "relay"
  private previousSlot = -1

  // history
  private epoch: number | undefined
  private epochReader: GroupReader | undefined
  private batch: OpenBatch | undefined
  private readonly progressKey: string | undefined
  private readonly registryKey: string | undefined
  /** epochs left with entries pending for other consumers, re-checked for XAUTOCLAIM */
  private readonly lingering = new Map<number, GroupReader>()

  // relay
  private events: GroupReader | undefined
  private final: GroupReader | undefined
  private eventsBuffer: Array<StreamEntry> = []
  private finalBuffer: Array<StreamEntry> = []

  constructor(private readonly options: ChainReaderOptions) {
    if (options.history === undefined && options.relay === undefined) {
      throw new TypeError("consume: give a history prefix, a relay prefix, or both")
    }
    checkNames(options)
    this.control = options.control ?? options.redis
    this.hkeys = options.history === undefined ? undefined : storeKeys(options.history)
    this.rkeys = options.relay === undefined ? undefined : relayKeys(options.relay)
    this.historyCount = options.historyCount ?? 1
    this.eventsCount = options.eventsCount ?? 100
    this.claimIdleMs = options.claimIdleMs ?? 60_000
    this.pollMs = options.pollMs ?? 500
    this.noticeEveryMs = options.noticeEveryMs ?? 30_000
    this.log = options.log ?? ((level, message) => {
      if (level === "warn") console.warn(`hecate/consumer: WARN ${message}`)
    })
    this.phase = this.hkeys === undefined ? "relay" : "history"
    this.progressKey = options.history === undefined ? undefined : progressKey(options.history, options.group)
    this.registryKey = options.history === undefined ? undefined : `${options.history}consumer_groups`
  }

  /** Registers the group (the registry, `events` and `final` at 0); done by the first `next` too. */
  async register(): Promise<void> {
    if (this.started) return
    this.started = true
    const { group } = this.options
    // before any key is written: a wrong prefix must not get the group's keys
    await this.checkPrefixes()
    if (this.registryKey !== undefined) {
      if ((await this.control.sismember(this.registryKey, group)) === 0) await this.checkLate()
      await this.control.sadd(this.registryKey, group)
    }
    if (this.rkeys !== undefined) {
      await createGroup(this.control, this.rkeys.events, group, true)
      await createGroup(this.control, this.rkeys.final, group, true)
    }
    if (this.hkeys !== undefined) {
      // the epochs published so far get the group now, before anything is acknowledged anywhere
      const low = intOr(await this.control.get(this.hkeys.lowWatermark))
      const last = intOr(await this.control.get(this.hkeys.lastSyncedEpoch))
      if (low !== undefined && last !== undefined) {
        const groups = await this.control.smembers(this.registryKey!)
        for (let e = low; e <= last; e++) {
          for (const g of groups) await createGroup(this.control, this.hkeys.stream(e), g, false)
        }
      }
    }
  }

  close(): void {
    this.closed = true
  }

  /** The next item, or undefined once closed. Waits (polling) while there is nothing new. */
  async next(): Promise<ReadItem | undefined> {
    await this.register()
    while (!this.closed) {
      await this.lookAround()
      const item = this.phase === "history" ? await this.nextHistory() : await this.nextRelay()
      if (item !== undefined) return item
    }
    return undefined
  }

  // ------------------------------------------------------------------------------- notices ---

  /**
   * A prefix holding the other producer's keys fails (`WrongPrefix`); the one the reads start
   * on holding nothing yet is noted (the consumer waits for its producer, registered first).
   */
  private async checkPrefixes(): Promise<void> {
    const empty: Array<{ kind: "history" | "relay"; prefix: string }> = []
    let used = 0
    for (const [kind, keys] of [["history", this.hkeys], ["relay", this.rkeys]] as const) {
      if (keys === undefined) continue
      used++
      const contents = await prefixContents(this.control, keys.prefix)
      const problem = prefixProblem(kind, keys.prefix, contents)
      if (problem !== undefined) throw new ConsumerError({ reason: "WrongPrefix", detail: problem })
      if (contents === "nothing") empty.push({ kind, prefix: keys.prefix })
    }
    // with both prefixes, an empty history beside a relay is a relay started at origin: it reads that
    if (empty.length === used) {
      const w = empty[0]!
      // `x:h` given while the producer writes `x:h:last_synced_epoch`: it would wait for ever
      const colon = `${w.prefix}:`
      const near = !w.prefix.endsWith(":") && (await prefixContents(this.control, colon)) !== "nothing"
      this.waitingFor = { ...w, since: Date.now(), hint: near ? colon : undefined }
      this.log(near ? "warn" : "info", this.waitingNotice(0))
    }
  }

  private waitingNotice(waitedMs: number): string {
    const w = this.waitingFor!
    const what = w.kind === "history"
      ? `a backfill or sync to commit its first epoch (${w.prefix}last_synced_epoch)`
      : `a relay or sync to write its cursor (${w.prefix}cursor)`
    return `${waitedMs === 0 ? "nothing" : `still nothing after ${Math.round(waitedMs / 1000)} s`} at ${w.prefix} yet: ` +
      `group ${this.options.group} is registered and waits for ${what}` +
      (w.hint === undefined ? "" : `; keys exist under ${w.hint}: give that prefix (--${w.kind === "history" ? "history" : "redis"}-prefix ${w.hint}, option ${w.kind})`)
  }

  /**
   * Every `noticeEveryMs`: while the prefix is still empty, say so again (and check it did not
   * get the other producer's keys meanwhile); warn once about each other live consumer of the
   * group on the stream being read.
   */
  private async lookAround(): Promise<void> {
    const now = Date.now()
    if (now - this.lastCheck < this.noticeEveryMs) return
    const first = this.lastCheck === Number.NEGATIVE_INFINITY
    this.lastCheck = now
    const w = this.waitingFor
    if (w !== undefined && !first) {
      const contents = await prefixContents(this.control, w.prefix)
      const problem = prefixProblem(w.kind, w.prefix, contents)
      if (problem !== undefined) throw new ConsumerError({ reason: "WrongPrefix", detail: problem })
      if (contents === "nothing") this.log(w.hint === undefined ? "info" : "warn", this.waitingNotice(now - w.since))
      else this.waitingFor = undefined
    }
    const key = this.phase === "relay" ? this.rkeys?.events : this.lastEpochKey
    if (key !== undefined) await this.checkCompany(key)
  }

  /** Warns once per consumer of the group, other than this one, active on `key` within `claimIdleMs`. */
  private async checkCompany(key: string): Promise<void> {
    let consumers: Array<Array<unknown>>
    try {
      consumers = (await this.control.xinfo("CONSUMERS", key, this.options.group)) as Array<Array<unknown>>
    } catch {
      return // the stream or the group is not there (yet): nobody to meet
    }
    for (const c of consumers) {
      const o: Record<string, unknown> = {}
      for (let i = 0; i + 1 < c.length; i += 2) o[String(c[i])] = c[i + 1]
      const name = String(o["name"])
      // `inactive` (Redis ≥ 7.2): since its last read; `idle` before that
      const quiet = Number(o["inactive"] ?? o["idle"])
      if (name === this.options.consumer || this.company.has(name) || !(quiet >= 0 && quiet < this.claimIdleMs)) continue
      this.company.add(name)
      this.log(
        "warn",
        `another consumer of group ${this.options.group}, ${name}, read ${key} ${quiet} ms ago: the group shares the entries among its consumers, ` +
          `so the order holds per consumer, not across the group (an Undo can reach another consumer than its Apply); ` +
          `use one consumer per group when the order matters`
      )
    }
  }

  /**
   * A group new to the history (not in the registry, not on the first epoch left) whose first
   * committed epochs are gone (`event_stream` starts below `low_watermark`: the cleanup took them
   * once the registered groups had read them) would start mid-chain: `LateGroup`, or with
   * `fromAvailable` a warning naming the first epoch and block it can still read.
   */
  private async checkLate(): Promise<void> {
    const keys = this.hkeys!
    const { group } = this.options
    const low = intOr(await this.control.get(keys.lowWatermark))
    if (low === undefined) return
    const events = (await this.control.xrange(keys.eventStream, "-", "+")) as Array<[string, Array<string>]>
    const epochOf = (e: [string, Array<string>]) => intOr(e[1][e[1].indexOf("epoch") + 1])
    const firstEpoch = events[0] === undefined ? undefined : epochOf(events[0])
    if (firstEpoch === undefined || firstEpoch >= low) return
    try {
      const groups = (await this.control.xinfo("GROUPS", keys.stream(low))) as Array<Array<unknown>>
      if (groups.some((g) => g[g.indexOf("name") + 1] === group)) return
    } catch {
      // no stream at the watermark (an epoch without blocks, or not written yet)
    }
    const before = events.find((e) => epochOf(e) === low - 1)
    const lastHeight = before === undefined ? undefined : intOr(before[1][before[1].indexOf("last_height") + 1])
    const start = `epoch ${low}${lastHeight === undefined ? "" : ` (block height ${lastHeight + 1})`}`
    const gone = firstEpoch === low - 1 ? `epoch ${firstEpoch} is` : `epochs ${firstEpoch}–${low - 1} are`
    if (this.options.fromAvailable !== true) {
      throw new ConsumerError({
        reason: "LateGroup",
        detail: `group ${group} is new to ${keys.prefix}, whose ${gone} gone (cleaned up once the registered groups had read them, or purged): ` +
          `it would start at ${start} and never see the earlier blocks. Register every group before the producer starts ` +
          `(hecate consume --group ${group} --register-only), or give --from-available (option fromAvailable) to start at ${start}`
      })
    }
    this.log("warn", `group ${group} starts at ${start} of ${keys.prefix}, the first one it can still read: ${gone} gone (cleaned up once the registered groups had read them, or purged, before it registered)`)
  }

  // ------------------------------------------------------------------------------- history ---

  /** One step of the history phase: an item, or undefined after waiting / switching phase. */
  private async nextHistory(): Promise<ReadItem | undefined> {
    const keys = this.hkeys!
    const { group, consumer } = this.options
    if (this.batch !== undefined && this.batch.next < this.batch.blocks.length) return this.batchItem(this.batch)
    this.batch = undefined
    if (this.queue.length > 0) {
      await this.openNext()
      return undefined
    }
    if (this.epochReader !== undefined) {
      const reader = this.epochReader
      const entries = await reader.read(this.historyCount)
      if (entries.length > 0) {
        await this.openBatch(this.epoch!, reader, entries)
        return undefined
      }
      // drained for this consumer; what others hold is claimed later if they die
      if ((await reader.foreignPending()) > 0) this.lingering.set(this.epoch!, reader)
      this.epochReader = undefined
      this.epoch = this.epoch! + 1
      return undefined
    }
    const lingering = await this.claimLingering()
    if (lingering !== undefined) return undefined

    const bound = await this.historyBound()
    if (bound === "relay") {
      this.phase = "relay"
      this.waitingFor = undefined
      return undefined
    }
    if (this.epoch === undefined) {
      const low = intOr(await this.control.get(keys.lowWatermark))
      if (low === undefined) return this.wait()
      this.epoch = low
    }
    if (bound === undefined || this.epoch > bound) return this.wait()
    const key = keys.stream(this.epoch)
    const groups = this.registryKey === undefined ? [group] : await this.control.smembers(this.registryKey)
    if (!groups.includes(group)) groups.push(group)
    let exists = true
    for (const g of groups) exists = (await createGroup(this.control, key, g, false)) && exists
    if (!exists) {
      // published but absent: reclaimed by the producer's cleanup once every registered group had
      // read it (this one included: it is in the registry), or an epoch without blocks
      this.epoch += 1
      return undefined
    }
    // claims on every read: a dead consumer's entries of this epoch come before its new ones
    this.epochReader = new GroupReader(this.options.redis, key, group, consumer, this.claimIdleMs, 0, true)
    this.lastEpochKey = key
    return undefined
  }

  /**
   * The last epoch that may be read now: `last_synced_epoch`, capped at the relay's seam;
   * "relay" once the history is done and the relay continues it; undefined while nothing is
   * published.
   */
  private async historyBound(): Promise<number | "relay" | undefined> {
    const keys = this.hkeys!
    const last = intOr(await this.control.get(keys.lastSyncedEpoch))
    if (this.rkeys === undefined) return last
    const cursor = await this.control.hgetall(this.rkeys.cursor)
    if (Object.keys(cursor).length === 0) return last
    const historyPrefix = cursor["history_prefix"]
    const seam = intOr(cursor["seam_epoch"])
    if (historyPrefix !== keys.prefix) {
      if (last === undefined) return "relay"
      throw new ConsumerError({
        reason: "SeamMismatch",
        detail: historyPrefix === undefined
          ? `the relay at ${this.rkeys.prefix} was not started by sync, so it has no seam with the history at ${keys.prefix}`
          : `the relay at ${this.rkeys.prefix} continues the history at ${historyPrefix}, not ${keys.prefix}`
      })
    }
    if (seam === undefined) return "relay" // sync had nothing to backfill: the relay starts at origin
    if (this.epoch !== undefined && this.epoch > seam) return "relay"
    return last === undefined ? undefined : Math.min(last, seam)
  }

  private async claimLingering(): Promise<true | undefined> {
    for (const [epoch, reader] of this.lingering) {
      const entries = await reader.claim(this.historyCount)
      if (entries.length > 0) {
        await this.openBatch(epoch, reader, entries)
        return true
      }
      if ((await reader.foreignPending()) === 0) this.lingering.delete(epoch)
    }
    return undefined
  }

  private async openBatch(epoch: number, reader: GroupReader, entries: ReadonlyArray<StreamEntry>): Promise<void> {
    for (const entry of entries) this.queue.push({ epoch, reader, entry })
  }

  /** Entries read from an epoch stream and not opened yet (at most one read's worth). */
  private readonly queue: Array<{ readonly epoch: number; readonly reader: GroupReader; readonly entry: StreamEntry }> = []

  private async openNext(): Promise<void> {
    const { epoch, reader, entry } = this.queue.shift()!
    const data = entry.fields?.["data"]
    if (data === undefined) {
      throw new ConsumerError({ reason: entry.fields === undefined ? "Gap" : "Malformed", detail: `${reader.key} entry ${entry.id} has no data` })
    }
    const blocks = parse(data)
    if (!Array.isArray(blocks)) throw new ConsumerError({ reason: "Malformed", detail: `${reader.key} entry ${entry.id}: data is not an array` })
    const done = intOr(await this.control.hget(this.progressKey!, `${epoch}:${entry.id}`)) ?? 0
    const batch: OpenBatch = { epoch, reader, key: reader.key, entryId: entry.id, blocks: blocks as Array<BlockRecord>, next: done, acked: done }
    // every block was acknowledged, only the XACK was lost (a crash in between): finish it
    if (done >= blocks.length) await this.ackBatch(batch)
    else this.batch = batch
  }

  private batchItem(batch: OpenBatch): ReadItem {
    const index = batch.next++
    const block = batch.blocks[index]!
    const point = pointOf(block, this.previousSlot)
    this.previousSlot = point.slot
    const item: RawApply = {
      _tag: "Apply",
      id: `${batch.key}/${batch.entryId}/${index}`,
      position: historyPosition(batch.epoch, batch.entryId, index),
      point,
      source: "history",
      block,
      final: true
    }
    return {
      item,
      commit: async () => {
        batch.acked += 1
        if (batch.acked >= batch.blocks.length) await this.ackBatch(batch)
        else await this.control.hset(this.progressKey!, `${batch.epoch}:${batch.entryId}`, String(batch.acked))
      }
    }
  }

  private async ackBatch(batch: OpenBatch): Promise<void> {
    const replies = await this.control.multi()
      .xack(batch.key, this.options.group, batch.entryId)
      .hdel(this.progressKey!, `${batch.epoch}:${batch.entryId}`)
      .exec()
    // a MULTI reports a failed command in its replies, not by rejecting
    const failed = replies?.find(([error]) => error !== null)?.[0]
    if (failed !== undefined && failed !== null) throw await this.ackFailure(batch.key, failed)
    batch.reader.inFlight.delete(batch.entryId)
  }

  /**
   * Why an acknowledgement failed. XACK on a group or stream that is gone acknowledges nothing
   * and succeeds (Redis 7; the next read then fails with `GroupLost`); a server that answers
   * NOGROUP instead gets the same `GroupLost`.
   */
  private async ackFailure(key: string, error: unknown): Promise<unknown> {
    if (!isMissing(error)) return error
    return groupLost(key, this.options.group, (await this.control.exists(key)) > 0)
  }

  private async wait(): Promise<undefined> {
    await sleep(this.pollMs)
    return undefined
  }

  // --------------------------------------------------------------------------------- relay ---

  private async nextRelay(): Promise<ReadItem | undefined> {
    const keys = this.rkeys!
    const { group, consumer } = this.options
    if (this.events === undefined || this.final === undefined) {
      this.events = new GroupReader(this.options.redis, keys.events, group, consumer, this.claimIdleMs, this.claimIdleMs / 2)
      this.final = new GroupReader(this.options.redis, keys.final, group, consumer, this.claimIdleMs, this.claimIdleMs / 2)
      const delivered = (await this.lastDelivered(keys.events)) ?? "0-0"
      this.fresh = delivered === "0-0"
      // the events of every write before the group's first pending entry (else up to its last
      // delivered one) were handed out and acknowledged before this session: their finals need
      // not wait for the next write
      const pending = (await this.control.xpending(keys.events, group, "-", "+", 1)) as Array<[string, ...Array<unknown>]>
      this.eventsSeq = pending[0] !== undefined ? parseId(pending[0][0])[0] - 1 : await this.completeThrough(keys.events, delivered)
    }
    if (this.eventsBuffer.length === 0) {
      if (this.finalBuffer.length === 0 && !this.finalDrained) {
        const more = await this.final.read(this.eventsCount)
        if (more.length === 0) this.finalDrained = true
        else this.finalBuffer.push(...more)
      }
      // finals of writes whose events were all handed out already
      const finalHead = this.finalBuffer[0]
      if (finalHead !== undefined && parseId(finalHead.id)[0] <= this.eventsSeq) {
        this.finalBuffer.shift()
        return this.relayItem(finalHead, this.final, "final")
      }
      const entries = await this.events.read(this.eventsCount, this.pollMs)
      if (entries.length === 0) return undefined
      if (this.fresh) {
        this.fresh = false
        // a relay write may hold no event (it only moved the start point back), so the first
        // event need not be 1-0: entries were lost only if the stream ever deleted any
        if (entries[0]!.id !== "1-0" && (await this.everTrimmed(keys.events))) {
          // the group never had anything from the relay: it leaves again, else the entries it was
          // just handed stay pending and hold back the relay (--max-lag) for good
          await this.control.xgroup("DESTROY", keys.events, group)
          await this.control.xgroup("DESTROY", keys.final, group)
          throw new ConsumerError({
            reason: "Gap",
            detail: `the group's first event is ${entries[0]!.id}, not the relay's first write (1-0): ` +
              `it was registered after the relay trimmed the entries before it (the group was removed from ${keys.events} and ${keys.final} again)`
          })
        }
      }
      this.eventsBuffer = entries
      this.eventsSeq = Math.max(this.eventsSeq, await this.completeThrough(keys.events, entries.at(-1)!.id))
      this.finalDrained = false
    }
    const head = this.eventsBuffer[0]!
    const headSeq = parseId(head.id)[0]
    // every final entry of a write ≤ eventsSeq exists already (one script writes both streams, and
    // the events were read first): read final until it passes headSeq or has nothing more
    while (!this.finalDrained && (this.finalBuffer.length === 0 || parseId(this.finalBuffer.at(-1)!.id)[0] < headSeq)) {
      const more = await this.final.read(this.eventsCount)
      if (more.length === 0) this.finalDrained = true
      else this.finalBuffer.push(...more)
    }
    // claimed finals may be older than ones read before them
    this.finalBuffer.sort((a, b) => compareIds(a.id, b.id))
    const finalHead = this.finalBuffer[0]
    if (finalHead !== undefined && parseId(finalHead.id)[0] < headSeq) {
      this.finalBuffer.shift()
      return this.relayItem(finalHead, this.final, "final")
    }
    this.eventsBuffer.shift()
    return this.relayItem(head, this.events, "events")
  }

  /**
   * The highest write whose events were all read, given the last one read: a relay write holds
   * several events when it groups the messages queued behind it, and a read (COUNT n) may stop
   * inside one. The write is whole if the stream holds nothing after `lastId` with its number.
   */
  private async completeThrough(key: string, lastId: string): Promise<number> {
    const [seq] = parseId(lastId)
    if (lastId === "0-0") return 0
    const next = (await this.control.xrange(key, `(${lastId}`, "+", "COUNT", 1)) as Array<[string, Array<string>]>
    return next[0] !== undefined && parseId(next[0][0])[0] === seq ? seq - 1 : seq
  }

  private finalDrained = false
  /** the highest write number whose events were all read */
  private eventsSeq = 0
  /** the group had never been delivered an event when this session started */
  private fresh = false

  /** Whether the stream ever lost an entry (trimmed by the relay's retention, or deleted). */
  private async everTrimmed(key: string): Promise<boolean> {
    const info = (await this.control.xinfo("STREAM", key)) as Array<unknown>
    const field = (name: string): unknown => {
      for (let i = 0; i + 1 < info.length; i += 2) if (info[i] === name) return info[i + 1]
      return undefined
    }
    const added = Number(field("entries-added"))
    const length = Number(field("length"))
    // a server that does not say (Redis < 7): assume the worst, as before
    return !Number.isFinite(added) || !Number.isFinite(length) || added > length
  }

  private async lastDelivered(key: string): Promise<string | undefined> {
    const groups = (await this.control.xinfo("GROUPS", key)) as Array<Array<unknown>>
    for (const g of groups) {
      const o: Record<string, unknown> = {}
      for (let i = 0; i + 1 < g.length; i += 2) o[String(g[i])] = g[i + 1]
      if (o["name"] === this.options.group) return String(o["last-delivered-id"])
    }
    return undefined
  }

  private relayItem(entry: StreamEntry, reader: GroupReader, source: "events" | "final"): ReadItem {
    const f = entry.fields
    if (f === undefined) {
      throw new ConsumerError({ reason: "Gap", detail: `${reader.key} entry ${entry.id} was trimmed while pending for this consumer` })
    }
    const type = f["type"]
    const slot = intOr(f["slot"])
    const height = intOr(f["height"])
    const hash = f["hash"]
    // a final entry carries the point only (its block is the apply entry it names in `ref`)
    if (slot === undefined || height === undefined || hash === undefined || (type !== "final" && f["block"] === undefined)) {
      throw new ConsumerError({ reason: "Malformed", detail: `${reader.key} entry ${entry.id} lacks slot/height/hash${type === "final" ? "" : "/block"}` })
    }
    const point = { slot, id: hash, height }
    const id = `${reader.key}/${entry.id}`
    const position = relayPosition(entry.id, source)
    const commit = async () => {
      try {
        await this.control.xack(reader.key, this.options.group, entry.id)
      } catch (error) {
        throw await this.ackFailure(reader.key, error)
      }
      reader.inFlight.delete(entry.id)
    }
    if (type === "apply") return { item: { _tag: "Apply", id, position, point, source, block: parse(f["block"]!), final: false }, commit }
    if (type === "undo") return { item: { _tag: "Undo", id, position, point, source, block: parse(f["block"]!) }, commit }
    if (type === "final") return { item: { _tag: "Final", id, position, point, source }, commit }
    throw new ConsumerError({ reason: "Malformed", detail: `${reader.key} entry ${entry.id} has type ${String(type)}` })
  }
}
