/**
 * RelayStore: the relay's Redis contract (docs/relay.md). One atomic Lua script per chain-sync
 * input commits that input's apply/undo/final entries together with the cursor, so after a crash
 * between any two commands the stored cursor and the streams agree, and a restart neither skips
 * nor repeats an event.
 *
 * - `claim` takes the prefix over (fencing token) and returns the stored cursor, if any;
 * - `init` creates the cursor of a fresh relay at its start point;
 * - `write(seq, producer, ops, tip)` commits write number `seq` (exactly cursor.seq + 1): idempotent
 *   (a retried write whose seq is committed returns Duplicate), fenced (a newer producer's cursor
 *   makes it fail with RelayFenced), and validated against the stored window (RelayResync);
 * - `lag` is the backpressure poll.
 *
 * The volatile window lives in a LIST of `height slot hash eventId` entries; undo entries are
 * copied server-side from the block's apply entry, so their content is the apply's byte for byte,
 * and final entries hold the apply's point and id (`ref`) instead of a second copy of the block;
 * a restarted relay never needs the blocks' content.
 */
import { Context, Effect, Layer } from "effect"
import { runScript } from "../backfill/store/scripts.js"
import type { Point, PointOrOrigin, TipOrOrigin } from "../domain/point.js"
import type { WireFormat } from "../domain/wire-format.js"
import { Redis, type RedisConnection, type RedisError } from "../services/Redis.js"
import { RelayCursorInvalid, RelayFenced, RelayPrefixTaken, RelayResync } from "./errors.js"
import { DEFAULT_RELAY_PREFIX, type RelayKeys, relayKeys } from "./keys.js"
import { CLAIM_SCRIPT, DISCARD_SCRIPT, INIT_SCRIPT, LAG_SCRIPT, WRITE_SCRIPT } from "./scripts.js"

/** One block of the stored volatile window. */
export interface WindowEntry {
  readonly height: number
  readonly slot: number
  readonly hash: string
  /** id of its apply entry in `events` */
  readonly eventId: string
}

export interface RelayCursor {
  /** fencing token of the producer that owns the prefix */
  readonly producer: number
  /** number of the last committed write (0: none yet) */
  readonly seq: number
  readonly depth: number
  readonly format: WireFormat
  /**
   * the last final point (or the relay's start point), with its height when known; `provisional`
   * while it is only the start point of a relay that has finalised nothing yet (a rollback below
   * it undoes the window and moves the start back)
   */
  readonly final: { readonly point: PointOrOrigin; readonly height: number | null; readonly provisional: boolean }
  /** the volatile window, oldest first */
  readonly window: ReadonlyArray<WindowEntry>
  /** sparse older final points, newest first */
  readonly checkpoints: ReadonlyArray<{ readonly height: number; readonly point: Point }>
  /** the node's tip at the last apply */
  readonly tip: TipOrOrigin | undefined
  /** every field as stored (e.g. the seam of `sync`) */
  readonly fields: Readonly<Record<string, string>>
}

/** One operation of a write, in the order of the reorg operator's batch. */
export type RelayOp =
  | { readonly _tag: "A"; readonly slot: number; readonly height: number; readonly hash: string; readonly era: string; readonly block: string | Buffer }
  | { readonly _tag: "U"; readonly hash: string }
  | { readonly _tag: "F"; readonly hash: string }
  /** the start point moves back to a rollback point (the window is empty by then) */
  | { readonly _tag: "R"; readonly point: PointOrOrigin }

export interface WriteResult {
  /** Duplicate: this seq was already committed (a retry); nothing was written */
  readonly _tag: "Written" | "Duplicate"
  readonly seq: number
  /** the largest lag of a consumer group on `events` / `final` (entries not yet delivered) */
  readonly lag: number
  /** XLEN events */
  readonly length: number
}

export interface RelayStoreOptions {
  readonly prefix?: string
  /**
   * Writes (≈ entries) kept in `events` and `final` beyond what the window and the consumer groups
   * still need; 0 = never trim. Default 100 000.
   */
  readonly retain?: number
}

export interface RelayStoreShape {
  readonly keys: RelayKeys
  readonly retain: number
  /** Takes the prefix over (bumps the fencing token) and reads the cursor; undefined when there is none. */
  readonly claim: () => Effect.Effect<RelayCursor | undefined, RedisError | RelayCursorInvalid>
  /** Reads the cursor without taking over (status, tests). */
  readonly read: () => Effect.Effect<RelayCursor | undefined, RedisError | RelayCursorInvalid>
  /** Creates the cursor of a fresh relay starting after `start`. */
  readonly init: (init: {
    readonly start: PointOrOrigin
    readonly height: number | null
    readonly depth: number
    readonly format: WireFormat
    /** true when `start` is not final (a tip): a rollback below it moves it back. Default true. */
    readonly provisional?: boolean
    readonly extra?: Readonly<Record<string, string>>
  }) => Effect.Effect<RelayCursor, RedisError | RelayCursorInvalid | RelayPrefixTaken>
  readonly write: (
    seq: number,
    producer: number,
    ops: ReadonlyArray<RelayOp>,
    tip: TipOrOrigin | undefined
  ) => Effect.Effect<WriteResult, RedisError | RelayFenced | RelayResync>
  readonly lag: () => Effect.Effect<{ readonly lag: number; readonly length: number }, RedisError>
  /** Deletes the cursor if nothing was ever written under it (seq 0): a start that never began. */
  readonly discardFresh: () => Effect.Effect<void, RedisError>
  /** HSET on `status` (best effort: callers log failures). */
  readonly setStatus: (fields: Readonly<Record<string, string | number>>) => Effect.Effect<void, RedisError>
  readonly incrMetric: (field: string, by?: number) => Effect.Effect<void, RedisError>
}

export class RelayStore extends Context.Service<RelayStore, RelayStoreShape>()("hecate/RelayStore") {
  static readonly layer = (options: RelayStoreOptions = {}): Layer.Layer<RelayStore, never, Redis> =>
    Layer.effect(
      RelayStore,
      Effect.gen(function*() {
        return makeRelayStore(yield* Redis, options)
      })
    )
}

/** The op that moves a provisional start point back to `point`. */
export const restartOp = (point: PointOrOrigin): RelayOp => ({ _tag: "R", point })

const int = (text: string | undefined): number | null => {
  if (text === undefined || text === "") return null
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : null
}

/** @internal the cursor from its stored hash, window and checkpoints (shared with the in-memory store) */
export const parseCursor = (
  prefix: string,
  fields: Record<string, string>,
  window: ReadonlyArray<string>,
  checkpoints: ReadonlyArray<string>
): RelayCursor => {
  const bad = (detail: string) => new RelayCursorInvalid({ prefix, detail })
  const producer = int(fields["producer"])
  const seq = int(fields["seq"])
  const depth = int(fields["depth"])
  const format = fields["format"]
  if (producer === null || seq === null || depth === null) throw bad(`the cursor hash is incomplete (${JSON.stringify(fields)})`)
  if (format !== "hecate" && format !== "ogmios") throw bad(`unknown format ${String(format)}`)
  const finalHash = fields["final_hash"]
  const finalSlot = int(fields["final_slot"])
  const point: PointOrOrigin = finalHash === "origin" || finalHash === undefined
    ? "origin"
    : finalSlot === null
    ? (() => {
      throw bad(`final point ${finalHash} has no slot`)
    })()
    : { slot: finalSlot, id: finalHash }
  const entries = window.map((text): WindowEntry => {
    const [h, s, hash, eventId] = text.split(" ")
    const height = int(h)
    const slot = int(s)
    if (height === null || slot === null || hash === undefined || eventId === undefined) throw bad(`window entry "${text}" is malformed`)
    return { height, slot, hash, eventId }
  })
  const points: Array<{ height: number; point: Point }> = []
  for (let i = 0; i + 1 < checkpoints.length; i += 2) {
    const [s, hash] = checkpoints[i]!.split(" ")
    const slot = int(s)
    const height = int(checkpoints[i + 1])
    if (slot !== null && height !== null && hash !== undefined) points.push({ height, point: { slot, id: hash } })
  }
  const tipHeight = int(fields["tip_height"])
  const tipSlot = int(fields["tip_slot"])
  const tipHash = fields["tip_hash"]
  return {
    producer,
    seq,
    depth,
    format,
    final: { point, height: int(fields["final_height"]), provisional: fields["final_provisional"] === "1" },
    window: entries,
    checkpoints: points,
    tip: tipHeight !== null && tipSlot !== null && tipHash !== undefined ? { slot: tipSlot, id: tipHash, height: tipHeight } : undefined,
    fields
  }
}

const replyMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export const makeRelayStore = (redis: RedisConnection, options: RelayStoreOptions = {}): RelayStoreShape => {
  const keys = relayKeys(options.prefix ?? DEFAULT_RELAY_PREFIX)
  const retain = options.retain ?? 100_000

  const read = () =>
    redis.use(async (client) => {
      const [fields, window, checkpoints] = await Promise.all([
        client.hgetall(keys.cursor),
        client.lrange(keys.window, 0, -1),
        client.zrevrange(keys.checkpoints, 0, -1, "WITHSCORES")
      ])
      return { fields, window, checkpoints }
    }, `read the relay cursor ${keys.cursor}`).pipe(
      Effect.flatMap(({ checkpoints, fields, window }) =>
        Object.keys(fields).length === 0
          ? Effect.succeed(undefined)
          : Effect.try({
            try: () => parseCursor(keys.prefix, fields, window, checkpoints),
            catch: (e) => e as RelayCursorInvalid
          })
      )
    )

  const claim = () =>
    redis.use((client) => runScript(client, CLAIM_SCRIPT, [keys.cursor], []), `claim ${keys.cursor}`).pipe(
      Effect.flatMap((token) => (Number(token) === 0 ? Effect.succeed(undefined) : read()))
    )

  const init: RelayStoreShape["init"] = ({ depth, extra, format, height, provisional = true, start }) =>
    Effect.gen(function*() {
      const args: Array<string | number> = [
        depth,
        format,
        start === "origin" ? -1 : start.slot,
        start === "origin" ? "origin" : start.id,
        height ?? "",
        Date.now(),
        provisional ? "1" : "0"
      ]
      for (const [k, v] of Object.entries(extra ?? {})) args.push(k, v)
      const outcome = yield* redis.use(
        (client) =>
          runScript(client, INIT_SCRIPT, [keys.cursor, keys.events, keys.final, keys.window], args).then(
            () => undefined,
            (error: unknown) => {
              const message = replyMessage(error)
              if (/^(RACE|ORPHAN) /.test(message)) return message
              throw error
            }
          ),
        `create the relay cursor ${keys.cursor}`
      )
      if (outcome !== undefined) {
        return yield* Effect.fail(
          outcome.startsWith("RACE")
            ? new RelayPrefixTaken({ prefix: keys.prefix, detail: "another relay created the cursor at the same moment" })
            : new RelayCursorInvalid({
              prefix: keys.prefix,
              detail: `${outcome.replace(/^ORPHAN /, "")}: delete the relay keys under this prefix (or pick another --redis-prefix) to start fresh`
            })
        )
      }
      const cursor = yield* read()
      if (cursor === undefined) return yield* Effect.fail(new RelayCursorInvalid({ prefix: keys.prefix, detail: "the cursor vanished right after it was created" }))
      return cursor
    })

  const write: RelayStoreShape["write"] = (seq, producer, ops, tip) => {
    const args: Array<string | number | Buffer> = [
      producer,
      seq,
      retain,
      tip === undefined || tip === "origin" ? "" : tip.slot,
      tip === undefined || tip === "origin" ? "" : tip.id,
      tip === undefined || tip === "origin" ? "" : tip.height,
      Date.now()
    ]
    for (const op of ops) {
      if (op._tag === "A") args.push("A", op.slot, op.height, op.hash, op.era, op.block)
      else if (op._tag === "R") args.push("R", op.point === "origin" ? -1 : op.point.slot, op.point === "origin" ? "origin" : op.point.id)
      else args.push(op._tag, op.hash)
    }
    return redis.use(
      (client) =>
        runScript(client, WRITE_SCRIPT, [keys.cursor, keys.window, keys.events, keys.final, keys.checkpoints, keys.metrics], args).then(
          (reply) => ({ reply }),
          (error: unknown) => {
            const message = replyMessage(error)
            if (/^(FENCED|RESYNC) /.test(message)) return { failure: message }
            throw error
          }
        ),
      `write ${keys.events} (relay write ${seq})`
    ).pipe(
      Effect.flatMap((r): Effect.Effect<WriteResult, RelayFenced | RelayResync> => {
        if ("failure" in r) {
          return r.failure.startsWith("FENCED")
            ? Effect.fail(new RelayFenced({ prefix: keys.prefix, detail: r.failure.slice(7) }))
            : Effect.fail(new RelayResync({ detail: r.failure.slice(7) }))
        }
        const [tag, storedSeq, lag, length] = r.reply as [string, number, number, number]
        return Effect.succeed({
          _tag: tag === "dup" ? "Duplicate" : "Written",
          seq: Number(storedSeq),
          lag: Number(lag),
          length: Number(length)
        })
      })
    )
  }

  const lag = () =>
    redis.use((client) => runScript(client, LAG_SCRIPT, [keys.cursor, keys.events, keys.final], []), `XINFO GROUPS ${keys.events}`).pipe(
      Effect.map((reply) => {
        const [l, length] = reply as [number, number]
        return { lag: Number(l), length: Number(length) }
      })
    )

  const discardFresh = () =>
    redis.use((client) => runScript(client, DISCARD_SCRIPT, [keys.cursor, keys.window], []), `discard ${keys.cursor}`).pipe(Effect.asVoid)

  const setStatus: RelayStoreShape["setStatus"] = (fields) =>
    redis.use((client) => client.hset(keys.status, fields), `HSET ${keys.status}`).pipe(Effect.asVoid)

  const incrMetric: RelayStoreShape["incrMetric"] = (field, by = 1) =>
    redis.use((client) => client.hincrby(keys.metrics, field, by), `HINCRBY ${keys.metrics}`).pipe(Effect.asVoid)

  return { keys, retain, claim, read, init, write, lag, discardFresh, setStatus, incrMetric }
}
