/**
 * One consumer-group reader of one stream: first what Redis still holds as pending for this
 * consumer (delivered before a restart, never acknowledged), then what another consumer of the
 * group left pending for longer than the idle time (XAUTOCLAIM, skipping the ones this session
 * holds itself), then new entries (`>`); each in id order.
 */
import type { Redis } from "ioredis"
import { ConsumerError } from "./errors.js"

export interface StreamEntry {
  readonly id: string
  /** undefined: the entry was trimmed or deleted while pending (Redis returns nil fields) */
  readonly fields: Record<string, string> | undefined
}

type RawEntry = [string, Array<string> | null]

const toEntry = ([id, flat]: RawEntry): StreamEntry => {
  if (flat === null) return { id, fields: undefined }
  const fields: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!
  return { id, fields }
}

/** `<ms>-<seq>` as a pair, for ordering ids across streams. */
export const parseId = (id: string): readonly [number, number] => {
  const dash = id.indexOf("-")
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}

export const compareIds = (a: string, b: string): number => {
  const [a1, a2] = parseId(a)
  const [b1, b2] = parseId(b)
  return a1 !== b1 ? a1 - b1 : a2 - b2
}

/** XGROUP CREATE at 0; true when created or already there, false when the stream does not exist. */
export const createGroup = async (redis: Redis, key: string, group: string, mkstream: boolean): Promise<boolean> => {
  try {
    if (mkstream) await redis.xgroup("CREATE", key, group, "0", "MKSTREAM")
    else await redis.xgroup("CREATE", key, group, "0")
    return true
  } catch (error) {
    const text = String(error)
    if (text.includes("BUSYGROUP")) return true
    if (text.includes("requires the key to exist")) return false
    throw error
  }
}

/** A reply saying the stream or the group is not there (any more). */
export const isMissing = (error: unknown): boolean => /NOGROUP|UNBLOCKED|no longer exists/.test(String(error))

/** The group vanished from `key` (or `key` itself, when it may not): where it had read to is lost. */
export const groupLost = (key: string, group: string, streamExists: boolean): ConsumerError =>
  new ConsumerError({
    reason: "GroupLost",
    detail: streamExists
      ? `group ${group} is gone from ${key} while it was being read (XGROUP DESTROY, or its creation lost in a Redis restart without persistence of the last writes): ` +
        `where it had read to is lost — start the group over (hecate consume --group ${group} --unregister, then consume again, into a new --out file), ` +
        `or re-create it at its last acknowledged entry (XGROUP CREATE ${key} ${group} <id>)`
      : `${key} was deleted while group ${group} was reading it (the relay never deletes it: removed by hand, or lost in a Redis restart): ` +
        `the group's place in it is lost — restore Redis, or start the group over (hecate consume --group ${group} --unregister, then consume again)`
  })

export class GroupReader {
  /** the stream was deleted (an epoch stream the producer's cleanup took once every group had read it) */
  gone = false
  private pendingCursor: string | undefined = "0"
  private claimCursor = "0-0"
  private lastClaim = Number.NEGATIVE_INFINITY
  /** ids delivered by this session and not acknowledged yet: never reclaimed from ourselves */
  readonly inFlight = new Set<string>()

  /**
   * `claimIdleMs`: entries of other consumers pending this long are taken over; `claimEveryMs`:
   * how often a read looks for them (0: every read).
   */
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly group: string,
    private readonly consumer: string,
    private readonly claimIdleMs: number,
    private readonly claimEveryMs: number,
    /**
     * An epoch stream is deleted by the producer's cleanup once every registered group has read
     * and acknowledged it: its reader then has nothing more to read. `events`/`final` never go.
     */
    private readonly mayVanish = false
  ) {}

  /**
   * Runs a command of the group; a stream that vanished under it gives `fallback` (and `gone`)
   * when that is allowed, a group missing on a stream that exists fails: re-creating it at 0
   * would hand out again what the group acknowledged, skipping would lose what it did not.
   */
  private async guarded<A>(command: () => Promise<A>, fallback: A): Promise<A> {
    if (this.gone) return fallback
    try {
      return await command()
    } catch (error) {
      if (!isMissing(error)) throw error
      const exists = (await this.redis.exists(this.key)) > 0
      if (!exists && this.mayVanish) {
        this.gone = true
        return fallback
      }
      throw groupLost(this.key, this.group, exists)
    }
  }

  /**
   * Up to `count` entries, oldest first: this consumer's own pending ones (delivered to it before
   * a restart), then (when due) those another consumer left idle for `claimIdleMs`, then new ones
   * (waiting up to `blockMs` if given). Claims come only after the own pending ones, so an entry
   * of a previous session is never both re-read and claimed.
   */
  async read(count: number, blockMs?: number): Promise<Array<StreamEntry>> {
    if (this.pendingCursor !== undefined) {
      const cursor = this.pendingCursor
      const reply = (await this.guarded(() => this.redis.xreadgroup(
        "GROUP", this.group, this.consumer, "COUNT", count, "STREAMS", this.key, cursor
      ), null)) as Array<[string, Array<RawEntry>]> | null
      const entries = (reply?.[0]?.[1] ?? []).map(toEntry)
      if (entries.length > 0) {
        this.pendingCursor = entries.at(-1)!.id
        return this.track(entries)
      }
      this.pendingCursor = undefined
    }
    if (Date.now() - this.lastClaim >= this.claimEveryMs) {
      this.lastClaim = Date.now()
      const claimed = await this.claim(count)
      if (claimed.length > 0) return claimed
    }
    const args: Array<string | number> = ["GROUP", this.group, this.consumer, "COUNT", count]
    if (blockMs !== undefined) args.push("BLOCK", blockMs)
    const reply = (await this.guarded(() => (this.redis.xreadgroup as (...a: Array<string | number>) => Promise<unknown>)(
      ...args, "STREAMS", this.key, ">"
    ), null)) as Array<[string, Array<RawEntry>]> | null
    return this.track((reply?.[0]?.[1] ?? []).map(toEntry))
  }

  /** Entries other consumers left pending for at least `claimIdleMs`, now owned by this consumer. */
  async claim(count: number): Promise<Array<StreamEntry>> {
    if (this.pendingCursor !== undefined) return []
    const reply = (await this.guarded(
      () => this.redis.xautoclaim(this.key, this.group, this.consumer, this.claimIdleMs, this.claimCursor, "COUNT", count),
      [this.claimCursor, []]
    )) as [
      string,
      Array<RawEntry>,
      Array<string>?
    ]
    this.claimCursor = reply[0]
    const entries = reply[1].map(toEntry).filter((e) => !this.inFlight.has(e.id))
    // ids that were deleted while pending (Redis ≥ 7 removes them from the PEL itself)
    for (const id of reply[2] ?? []) entries.push({ id, fields: undefined })
    return this.track(entries)
  }

  /** How many entries of the group are pending for consumers other than this one. */
  async foreignPending(): Promise<number> {
    const summary = (await this.guarded(() => this.redis.xpending(this.key, this.group), [0, null, null, null])) as [number, string | null, string | null, Array<[string, string]> | null]
    let n = 0
    for (const [name, count] of summary[3] ?? []) if (name !== this.consumer) n += Number(count)
    return n
  }

  private track(entries: Array<StreamEntry>): Array<StreamEntry> {
    for (const e of entries) this.inFlight.add(e.id)
    return entries
  }
}
