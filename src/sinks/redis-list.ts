/**
 * The `redis-list` sink (docs/redis-contract.md, last section): one JSON block per element of the LIST `<p>blocks`
 * (default prefix "hecate:"), and `<p>status` {last_block_hash, last_block_slot}.
 *
 * A retry never duplicates blocks and concurrent epochs never interleave:
 * - an attempt writes to its own list `<p>blocks:pending:<N>`, deleted when the attempt (re)starts;
 * - when the attempt completes, one Lua script RENAMEs it to `<p>blocks:ready:<N>` and appends
 *   every ready epoch from the cursor `<p>blocks:next_epoch` on, in epoch order, to `<p>blocks`
 *   (moving elements server-side, 500 at a time), updating `<p>status` and the cursor.
 * So `<p>blocks` only ever grows by whole epochs, in epoch order, each exactly once. An epoch below
 * the cursor (already appended by an earlier run) is discarded on completion, not duplicated.
 * `open({startEpoch})` seeds the cursor when unset; a window that starts above the cursor moves it
 * up (the skipped epochs were not asked for), one below it keeps it.
 *
 * As in the Python Hecate, the list is not trimmed (its consumer pops it); its length is in getStatus.
 */
import { Effect } from "effect"
import type { Block } from "../domain/block.js"
import { encodeBlock, type WireFormat } from "../domain/wire-format.js"
import type { RedisConnection, RedisError } from "../services/Redis.js"
import { runScript, type Script } from "../backfill/store/scripts.js"
import { createHash } from "node:crypto"
import type { BlockSink } from "./BlockSink.js"
import { BACKFILL_SINK_CAPABILITIES } from "./capabilities.js"

export const DEFAULT_LIST_PREFIX = "hecate:"

export const listKeys = (prefix: string = DEFAULT_LIST_PREFIX) => ({
  blocks: `${prefix}blocks`,
  status: `${prefix}status`,
  pending: (epoch: number) => `${prefix}blocks:pending:${epoch}`,
  readyPrefix: `${prefix}blocks:ready:`,
  ready: (epoch: number) => `${prefix}blocks:ready:${epoch}`,
  readyLast: `${prefix}blocks:ready_last`,
  nextEpoch: `${prefix}blocks:next_epoch`
})

const script = (name: string, lua: string): Script => ({ name, lua, sha: createHash("sha1").update(lua).digest("hex") })

/** KEYS: [next_epoch, ready_last]; ARGV: [startEpoch, readyPrefix]. */
const OPEN_SCRIPT = script("list-open", `
local cur = redis.call('GET', KEYS[1])
local start = tonumber(ARGV[1])
if (not cur) or start > tonumber(cur) then
  redis.call('SET', KEYS[1], ARGV[1])
  local fields = redis.call('HKEYS', KEYS[2])
  for _, f in ipairs(fields) do
    if tonumber(f) < start then
      redis.call('DEL', ARGV[2] .. f)
      redis.call('HDEL', KEYS[2], f)
    end
  end
end
return tonumber(redis.call('GET', KEYS[1]))
`)

/**
 * KEYS: [pending(N), ready(N), ready_last, next_epoch, blocks, status]
 * ARGV: [N, lastSlot, lastHash, readyPrefix]
 * Returns {cursor after, epochs appended, 1 if N was stale (below the cursor) else 0}.
 */
const COMMIT_SCRIPT = script("list-commit", `
local n = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[4]) or ARGV[1])
if n < cur then
  redis.call('DEL', KEYS[1])
  return { cur, 0, 1 }
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
else
  redis.call('DEL', KEYS[2])
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
local appended = 0
while redis.call('HEXISTS', KEYS[3], tostring(cur)) == 1 do
  local ready = ARGV[4] .. cur
  if redis.call('EXISTS', KEYS[5]) == 0 then
    if redis.call('EXISTS', ready) == 1 then redis.call('RENAME', ready, KEYS[5]) end
  else
    while true do
      local chunk = redis.call('LPOP', ready, 500)
      if not chunk then break end
      redis.call('RPUSH', KEYS[5], unpack(chunk))
    end
  end
  local last = redis.call('HGET', KEYS[3], tostring(cur))
  local sp = string.find(last, ' ')
  if sp > 1 then
    redis.call('HSET', KEYS[6], 'last_block_slot', string.sub(last, 1, sp - 1), 'last_block_hash', string.sub(last, sp + 1))
  end
  redis.call('HDEL', KEYS[3], tostring(cur))
  cur = cur + 1
  appended = appended + 1
end
redis.call('SET', KEYS[4], tostring(cur))
return { cur, appended, 0 }
`)

export interface RedisListStatus {
  readonly queue_length: number
  readonly last_block_hash: string | null
  readonly last_block_slot: string | null
}

export interface RedisListSinkOptions {
  readonly prefix?: string
  readonly format?: WireFormat
}

export interface RedisListSink extends BlockSink {
  readonly getStatus: () => Effect.Effect<RedisListStatus, RedisError>
}

export const makeRedisListSink = (redis: RedisConnection, options: RedisListSinkOptions = {}): RedisListSink => {
  const keys = listKeys(options.prefix ?? DEFAULT_LIST_PREFIX)
  const format = options.format ?? "hecate"
  const lastBlock = new Map<number, Block>()

  const writeBatch = (epoch: number, blocks: ReadonlyArray<Block>) => {
    const last = blocks[blocks.length - 1]
    if (last === undefined) return Effect.void
    const elements = blocks.map((b) => encodeBlock(b, format))
    return redis.use((c) => c.rpush(keys.pending(epoch), ...elements), `RPUSH ${keys.pending(epoch)}`).pipe(
      Effect.tap(() => Effect.sync(() => lastBlock.set(epoch, last)))
    )
  }

  const endEpoch = (epoch: number, _lastHeight: number) =>
    Effect.gen(function*() {
      const last = lastBlock.get(epoch)
      const reply = (yield* redis.use(
        (c) =>
          runScript(c, COMMIT_SCRIPT, [keys.pending(epoch), keys.ready(epoch), keys.readyLast, keys.nextEpoch, keys.blocks, keys.status], [
            epoch,
            String(last?.slot ?? ""),
            last?.id ?? "",
            keys.readyPrefix
          ]),
        `commit epoch ${epoch} to ${keys.blocks}`
      )) as [number, number, number]
      lastBlock.delete(epoch)
      if (reply[2] === 1) {
        yield* Effect.logWarning(`redis-list: epoch ${epoch} was already appended to ${keys.blocks}; this attempt's blocks were discarded`)
      }
    })

  return {
    name: "redis-list",
    capabilities: BACKFILL_SINK_CAPABILITIES["redis-list"],
    open: ({ startEpoch }) =>
      Effect.asVoid(redis.use((c) => runScript(c, OPEN_SCRIPT, [keys.nextEpoch, keys.readyLast], [startEpoch, keys.readyPrefix]), "open redis-list sink")),
    beginEpoch: (epoch) =>
      Effect.asVoid(redis.use((c) => c.del(keys.pending(epoch)), `DEL ${keys.pending(epoch)}`)).pipe(
        Effect.tap(() => Effect.sync(() => lastBlock.delete(epoch)))
      ),
    writeBatch,
    endEpoch,
    close: () => Effect.void,
    // the list's cursor is the next epoch to append: every one below it is in the list
    deliveredThrough: () =>
      Effect.map(redis.use((c) => c.get(keys.nextEpoch), `GET ${keys.nextEpoch}`), (next) => next === null ? undefined : Number(next) - 1),
    getStatus: () =>
      Effect.map(
        redis.use((c) => c.multi().llen(keys.blocks).hget(keys.status, "last_block_hash").hget(keys.status, "last_block_slot").exec(), "redis-list status"),
        (r) => ({
          queue_length: Number(r?.[0]?.[1] ?? 0),
          last_block_hash: (r?.[1]?.[1] as string | null | undefined) ?? null,
          last_block_slot: (r?.[2]?.[1] as string | null | undefined) ?? null
        })
      )
  }
}
