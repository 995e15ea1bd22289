/**
 * The Lua scripts of the epoch store. Each makes a check-then-write atomic on the server:
 * the ordered advance, the epoch reset, the purge (classification and deletion in one script, so
 * a group registering in between cannot lose data), the cleanup pass, and the producer lock. Scripts run with EVALSHA, falling back to EVAL on NOSCRIPT, so
 * opening a store writes nothing (status stays read-only).
 */
import { createHash } from "node:crypto"
import { Command } from "ioredis"
import type { RedisClient } from "../../services/Redis.js"

export interface Script {
  readonly name: string
  readonly lua: string
  readonly sha: string
}

export const script = (name: string, lua: string): Script => ({ name, lua, sha: createHash("sha1").update(lua).digest("hex") })

/** A script argument: a Buffer goes to Redis as its bytes, without a copy as a JS string. */
export type ScriptArg = string | number | Buffer

/** A Buffer argument from this size on is written to the socket as it is (see BulkCommand). */
const BULK_BYTES = 64 * 1024

interface Writable {
  readonly write: (chunk: string | Buffer) => unknown
}

/**
 * A command whose big Buffer arguments (a stream entry's data, 7–40 MB) go to the socket as they
 * are. ioredis writes a command as one chunk, so it copies every Buffer argument into a new
 * buffer of the command's size first: one more copy of each batch per write, allocated and freed
 * per batch. Here the RESP framing is written around the arguments instead, in order, on the
 * same socket (ioredis writes the returned tail right after). Only sent directly on a client
 * (`sendCommand` writes to the client's own socket), never through a pipeline.
 */
class BulkCommand extends Command {
  override toWritable(socket: object): string | Buffer {
    const out = socket as Writable
    let pending = `*${this.args.length + 1}\r\n$${Buffer.byteLength(this.name)}\r\n${this.name}\r\n`
    for (const arg of this.args) {
      if (Buffer.isBuffer(arg)) {
        out.write(`${pending}$${arg.length}\r\n`)
        out.write(arg)
        pending = "\r\n"
      } else {
        const text = String(arg)
        pending += `$${Buffer.byteLength(text)}\r\n${text}\r\n`
      }
    }
    return pending
  }
}

const hasBulk = (args: ReadonlyArray<ScriptArg>): boolean => args.some((a) => Buffer.isBuffer(a) && a.length >= BULK_BYTES)

const send = (client: RedisClient, name: "evalsha" | "eval", first: string, keys: ReadonlyArray<string>, args: ReadonlyArray<ScriptArg>) =>
  hasBulk(args)
    ? client.sendCommand(new BulkCommand(name, [first, keys.length, ...keys, ...args], { replyEncoding: "utf8" }))
    : name === "evalsha"
    ? client.evalsha(first, keys.length, ...keys, ...args)
    : client.eval(first, keys.length, ...keys, ...args)

/** Runs a script by SHA, loading it with EVAL when the server does not know it yet. */
export const runScript = async (
  client: RedisClient,
  s: Script,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<ScriptArg>
): Promise<unknown> => {
  try {
    return await send(client, "evalsha", s.sha, keys, args)
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("NOSCRIPT")) {
      return await send(client, "eval", s.lua, keys, args)
    }
    throw error
  }
}

/**
 * Stream classification, shared by purge / cleanup / classify. A stream is
 * - absent: it does not exist;
 * - orphaned: it exists and no consumer group is registered;
 * - consumed: ≥ 1 group, every group has pending 0 and last-delivered-id == the stream's
 *   last-generated-id. When every group reports `lag` 0 (Redis ≥ 7: it has read
 *   every entry ever added) that holds without reading XINFO STREAM, which copies the stream's first
 *   and last entry (10–20 MB each); otherwise (lag nil, or > 0, which Redis also reports after an
 *   XDEL although the group is at the end) the ids are compared;
 * - unfinished: anything else.
 */
const CLASSIFY = `
local function field(arr, name)
  for i = 1, #arr, 2 do
    if arr[i] == name then return arr[i + 1] end
  end
  return nil
end
local function classify(key)
  if redis.call('EXISTS', key) == 0 then return 'absent', {} end
  local groups = redis.call('XINFO', 'GROUPS', key)
  if #groups == 0 then return 'orphaned', {} end
  local names = {}
  local unfinished = false
  local compareIds = false
  for _, g in ipairs(groups) do
    names[#names + 1] = field(g, 'name')
    if tonumber(field(g, 'pending')) ~= 0 then unfinished = true end
    local lag = field(g, 'lag')
    if lag == nil or lag == false or tonumber(lag) ~= 0 then compareIds = true end
  end
  if unfinished then return 'unfinished', names end
  if compareIds then
    local last = field(redis.call('XINFO', 'STREAM', key), 'last-generated-id')
    for _, g in ipairs(groups) do
      if field(g, 'last-delivered-id') ~= last then return 'unfinished', names end
    end
  end
  return 'consumed', names
end
`

/** KEYS: [stream]. Returns {state, group names...}. */
export const CLASSIFY_SCRIPT = script("classify", `${CLASSIFY}
local state, names = classify(KEYS[1])
local out = { state }
for _, n in ipairs(names) do out[#out + 1] = n end
return out
`)

/**
 * The ordered commit with the completion of one epoch folded in.
 * KEYS: [last_synced_epoch, ready_set, resume_map, event_stream, metrics, stream(N), meta(N)]
 * ARGV: [N or "", lastHeight, eventMaxLen]
 *
 * 1. last_synced_epoch unset → error reply (call ensureOrderingBase first); nothing written.
 * 2. N given and N > last_synced: stamp meta first/last_xadd_ts_ms from the stream's first and last
 *    entry ids, SADD ready_set N, HSET resume_map N lastHeight. N ≤ last_synced: already committed,
 *    nothing is written (a rerun never emits a second epoch_complete).
 * 3. Advance: while last_synced + 1 is in ready_set: XADD event_stream (MAXLEN ~ eventMaxLen)
 *    {type: epoch_complete, epoch, last_height = resume_map[e]}, SREM, SET last_synced, HDEL
 *    resume_map. One event per epoch, emitted when the epoch becomes readable.
 * 4. HINCRBY metrics epochs_total by the number of epochs committed.
 * Returns {last_synced_epoch, accepted (0/1), committed count}.
 */
export const ADVANCE_SCRIPT = script("advance", `
local cur = redis.call('GET', KEYS[1])
if not cur then
  return redis.error_reply('ERR last_synced_epoch is unset: call ensureOrderingBase first')
end
cur = tonumber(cur)
local accepted = 0
if ARGV[1] ~= '' then
  local n = tonumber(ARGV[1])
  if n > cur then
    local first = redis.call('XRANGE', KEYS[6], '-', '+', 'COUNT', 1)
    local last = redis.call('XREVRANGE', KEYS[6], '+', '-', 'COUNT', 1)
    if #first > 0 and #last > 0 then
      redis.call('HSET', KEYS[7],
        'first_xadd_ts_ms', string.match(first[1][1], '^(%d+)'),
        'last_xadd_ts_ms', string.match(last[1][1], '^(%d+)'))
    end
    redis.call('SADD', KEYS[2], ARGV[1])
    redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
    accepted = 1
  end
end
local committed = 0
local nxt = cur + 1
while redis.call('SISMEMBER', KEYS[2], tostring(nxt)) == 1 do
  local h = redis.call('HGET', KEYS[3], tostring(nxt)) or ''
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*',
    'type', 'epoch_complete', 'epoch', tostring(nxt), 'last_height', h)
  redis.call('SREM', KEYS[2], tostring(nxt))
  redis.call('SET', KEYS[1], tostring(nxt))
  redis.call('HDEL', KEYS[3], tostring(nxt))
  cur = nxt
  nxt = nxt + 1
  committed = committed + 1
end
if committed > 0 then redis.call('HINCRBY', KEYS[5], 'epochs_total', committed) end
return { cur, accepted, committed }
`)

/**
 * Start of an epoch attempt. KEYS: [stream, meta, resume_map, ready_set, metrics, last_synced_epoch]
 * ARGV: [N]. Refuses (error reply) when N ≤ last_synced_epoch: its stream is published.
 * Otherwise: take the failed attempt's blocks back out of metrics.blocks_total (so the total counts each block once),
 * DEL the stream and its :meta (bytes_total restarts at 0), HDEL resume_map N, SREM ready_set N.
 * Returns the number of blocks taken back.
 */
export const RESET_SCRIPT = script("reset", `
local synced = redis.call('GET', KEYS[6])
if synced and tonumber(ARGV[1]) <= tonumber(synced) then
  return redis.error_reply('ERR epoch ' .. ARGV[1] .. ' is already committed (last_synced_epoch = ' .. synced .. ')')
end
local blocks = tonumber(redis.call('HGET', KEYS[2], 'blocks_total') or '0')
if blocks ~= 0 then redis.call('HINCRBY', KEYS[5], 'blocks_total', -blocks) end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
return blocks
`)

/**
 * The startup purge, atomic. KEYS: [low_watermark, resume_map, ready_set]
 * ARGV: [epochPrefix, upTo, purgeOrphans "1"/"0"]
 * Classifies [low_watermark, upTo) in order and refuses at the first offending epoch before any
 * deletion: {"orphan", epoch, key} or {"unfinished", epoch, key, groups...}. Otherwise deletes
 * every stream + :meta, HDEL resume_map, SREM ready_set, SET low_watermark = upTo, and returns
 * {"ok", present count, orphaned epochs...}; {"noop", 0} when low_watermark is unset or ≥ upTo.
 */
export const PURGE_SCRIPT = script("purge", `${CLASSIFY}
local lw = redis.call('GET', KEYS[1])
if not lw then return { 'noop', 0 } end
lw = tonumber(lw)
local upTo = tonumber(ARGV[2])
if lw >= upTo then return { 'noop', 0 } end
local present = 0
local orphans = {}
for e = lw, upTo - 1 do
  local key = ARGV[1] .. e
  local state, names = classify(key)
  if state == 'orphaned' then
    if ARGV[3] ~= '1' then return { 'orphan', e, key } end
    orphans[#orphans + 1] = e
    present = present + 1
  elseif state == 'unfinished' then
    local out = { 'unfinished', e, key }
    for _, n in ipairs(names) do out[#out + 1] = n end
    return out
  elseif state == 'consumed' then
    present = present + 1
  end
end
for e = lw, upTo - 1 do
  local key = ARGV[1] .. e
  redis.call('DEL', key, key .. ':meta')
  redis.call('HDEL', KEYS[2], tostring(e))
  redis.call('SREM', KEYS[3], tostring(e))
end
redis.call('SET', KEYS[1], tostring(upTo))
local out = { 'ok', present }
for _, e in ipairs(orphans) do out[#out + 1] = e end
return out
`)

/**
 * One cleanup pass, atomic. KEYS: [low_watermark, last_synced_epoch, metrics]
 * ARGV: [epochPrefix, isoTimestamp]
 * Skipped ({"skipped"}) when either key is unset. For e in [low_watermark, last_synced): absent →
 * low_watermark = e + 1; consumed → DEL stream + :meta, low_watermark = e + 1, HINCRBY
 * streams_purged_total; otherwise stop. The last-synced stream is always kept. Orphans are never
 * dropped. Then HSET last_cleanup_at. Returns {"done", purged, low_watermark, stopped epoch or -1, state}.
 */
export const CLEANUP_SCRIPT = script("cleanup", `${CLASSIFY}
local lw = redis.call('GET', KEYS[1])
local ls = redis.call('GET', KEYS[2])
if (not lw) or (not ls) then return { 'skipped' } end
lw = tonumber(lw)
ls = tonumber(ls)
local purged = 0
local stopped = -1
local why = ''
local e = lw
while e < ls do
  local key = ARGV[1] .. e
  local state = classify(key)
  if state == 'absent' then
    redis.call('SET', KEYS[1], tostring(e + 1))
  elseif state == 'consumed' then
    redis.call('DEL', key, key .. ':meta')
    redis.call('SET', KEYS[1], tostring(e + 1))
    redis.call('HINCRBY', KEYS[3], 'streams_purged_total', 1)
    purged = purged + 1
  else
    stopped = e
    why = state
    break
  end
  e = e + 1
end
redis.call('HSET', KEYS[3], 'last_cleanup_at', ARGV[2])
return { 'done', purged, tonumber(redis.call('GET', KEYS[1])), stopped, why }
`)

/**
 * The fence of a lock holder's writes: prepended to a script, it refuses (error reply `FENCED …`,
 * nothing written) unless the lock, the last KEY, still holds the holder's token, the last ARGV.
 * A producer that lost its lock (a Redis outage longer than the TTL, a pause) can then never write
 * over the producer that took the prefix over: Redis itself checks every write.
 */
export const FENCE = `
local fenceHolder = redis.call('GET', KEYS[#KEYS])
if fenceHolder ~= ARGV[#ARGV] then
  return redis.error_reply('FENCED the lock ' .. KEYS[#KEYS] .. ' is held by ' .. tostring(fenceHolder or 'nobody') .. ', not by ' .. ARGV[#ARGV])
end
`

/** `s` behind the fence: KEYS and ARGV gain the lock key and the holder's token, last. */
export const fenced = (s: Script): Script => script(`fenced-${s.name}`, FENCE + s.lua)

/**
 * One batch of an epoch attempt. KEYS: [stream, resume_map, metrics, meta]; ARGV: [N, data,
 * lastHeight, blockCount, bytes]. XADD {type: batch, epoch, data}, HSET resume_map, HINCRBY the
 * blocks/bytes counters: one atomic step, so a fenced writer cannot get half of it in.
 */
export const APPEND_SCRIPT = script("append", `
redis.call('XADD', KEYS[1], '*', 'type', 'batch', 'epoch', ARGV[1], 'data', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[3], 'blocks_total', ARGV[4])
redis.call('HINCRBY', KEYS[4], 'bytes_total', ARGV[5])
redis.call('HINCRBY', KEYS[4], 'blocks_total', ARGV[4])
return 1
`)

/**
 * One part of a batch, staged until its last part arrives. KEYS: [staging]; ARGV: [part, staged,
 * ttlMs], `staged` the bytes of the batch before this part (0: the part starts the batch and
 * replaces whatever a failed attempt left). The staged length must be `staged`, or a part went
 * missing: refused (error reply `STAGED …`), so a batch with a hole is never written.
 */
export const STAGE_SCRIPT = script("stage", `
if ARGV[2] == '0' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return 1
end
local have = redis.call('STRLEN', KEYS[1])
if have ~= tonumber(ARGV[2]) then
  return redis.error_reply('STAGED ' .. KEYS[1] .. ' holds ' .. have .. ' bytes of the batch, not ' .. ARGV[2])
end
redis.call('APPEND', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

/**
 * The last part of a staged batch: the staged parts and this one become the entry, as
 * APPEND_SCRIPT writes it. KEYS: [stream, resume_map, metrics, meta, staging]; ARGV: [N, last
 * part, lastHeight, blockCount, bytes, staged].
 */
export const APPEND_STAGED_SCRIPT = script("append-staged", `
local have = redis.call('STRLEN', KEYS[5])
if have ~= tonumber(ARGV[6]) then
  return redis.error_reply('STAGED ' .. KEYS[5] .. ' holds ' .. have .. ' bytes of the batch, not ' .. ARGV[6])
end
redis.call('APPEND', KEYS[5], ARGV[2])
ARGV[2] = redis.call('GET', KEYS[5])
redis.call('DEL', KEYS[5])
` + APPEND_SCRIPT.lua)

/** KEYS: [metrics]; ARGV: [n, field1, value1, … fieldN, valueN]. HSET the n pairs (a run's own metrics, fenced like its data). */
export const METRICS_SET_SCRIPT = script("metrics-set", `
for i = 1, tonumber(ARGV[1]) do
  redis.call('HSET', KEYS[1], ARGV[2 * i], ARGV[2 * i + 1])
end
return 1
`)

/** KEYS: [last_synced_epoch, low_watermark]; ARGV: [base]. SETNX both; returns {seeded 0/1, base in force}. */
export const ENSURE_BASE_SCRIPT = script("ensure-base", `
local seeded = redis.call('SETNX', KEYS[1], ARGV[1])
redis.call('SETNX', KEYS[2], tostring(tonumber(ARGV[1]) + 1))
return { seeded, redis.call('GET', KEYS[1]) }
`)

/** KEYS: [last_synced_epoch]; ARGV: [base]. SET (only for --rebase-ordering-base, after the purge). */
export const SET_BASE_SCRIPT = script("set-base", `
redis.call('SET', KEYS[1], ARGV[1])
return 1
`)

/** KEYS: [lock]; ARGV: [owner, ttlMs]. Take or extend the lock. Returns {1} or {0, holder, pttl}. */
export const LOCK_ACQUIRE_SCRIPT = script("lock-acquire", `
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return { 1 }
end
return { 0, cur, redis.call('PTTL', KEYS[1]) }
`)

/** KEYS: [lock]; ARGV: [owner, ttlMs]. Extend only if still ours. Returns {1} or {0, holder or "", pttl}. */
export const LOCK_REFRESH_SCRIPT = script("lock-refresh", `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return { 1 }
end
return { 0, cur or '', redis.call('PTTL', KEYS[1]) }
`)

/** KEYS: [lock]; ARGV: [owner]. Compare-and-delete. Returns 1 if released, 0 if not ours. */
export const LOCK_RELEASE_SCRIPT = script("lock-release", `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)
