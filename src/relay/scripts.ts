/**
 * The relay's Lua scripts. WRITE is the whole commit of one chain-sync input: it validates the
 * batch against the stored volatile window (nothing is written unless all of it fits), then adds
 * the `events` / `final` entries with deterministic ids, moves the window, the final point, the
 * checkpoints, the counters and the cursor's sequence number, trims, and reports consumer lag,
 * all in one atomic script. A write whose sequence number is already committed is a no-op
 * ("dup"), so a retried or re-sent write can never duplicate anything.
 */
import type { Script } from "../backfill/store/scripts.js"
import { createHash } from "node:crypto"

const script = (name: string, lua: string): Script => ({ name, lua, sha: createHash("sha1").update(lua).digest("hex") })

/** Max consumer lag over the groups of `events` and `final`, and the length of `events`. */
const LAG = `
local function seqOf(id)
  return tonumber(string.match(id, '^(%d+)')) or 0
end
-- max lag of the groups of a stream, and the first write any of them still needs: the one after
-- its last-delivered entry, or its oldest pending (delivered, not acknowledged) entry's (0, nil
-- without groups)
local function groupsInfo(stream, now)
  if redis.call('EXISTS', stream) == 0 then return 0, nil end
  local groups = redis.call('XINFO', 'GROUPS', stream)
  local maxLag, minSeq = 0, nil
  for _, g in ipairs(groups) do
    local name, ld, lag, pending = nil, '0-0', false, 0
    for k = 1, #g, 2 do
      if g[k] == 'name' then name = g[k + 1]
      elseif g[k] == 'last-delivered-id' then ld = g[k + 1]
      elseif g[k] == 'lag' then lag = g[k + 1]
      elseif g[k] == 'pending' then pending = g[k + 1] end
    end
    local delivered = seqOf(ld)
    if type(lag) ~= 'number' then lag = now - delivered end
    if lag > maxLag then maxLag = lag end
    local needed = delivered + 1
    if pending > 0 then
      local oldest = redis.call('XPENDING', stream, name)[2]
      if oldest then
        local p = seqOf(oldest)
        if p < needed then needed = p end
      end
    end
    if minSeq == nil or needed < minSeq then minSeq = needed end
  end
  return maxLag, minSeq
end
`

export const WRITE_SCRIPT = script(
  "relay-write",
  `${LAG}
local cursor, window, events, final, checkpoints, metrics = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local seq = tonumber(ARGV[2])
local retain = tonumber(ARGV[3])
local producer = redis.call('HGET', cursor, 'producer')
if producer ~= ARGV[1] then
  -- tokens only grow: a newer one is another relay; an older one (or none) means Redis lost writes
  if producer and tonumber(producer) > tonumber(ARGV[1]) then
    return redis.error_reply('FENCED the relay cursor ' .. cursor .. ' belongs to producer ' .. producer .. ', this is producer ' .. ARGV[1])
  end
  if not producer then
    return redis.error_reply('RESYNC the relay cursor ' .. cursor .. ' is gone (this is producer ' .. ARGV[1] .. '): Redis lost writes')
  end
  return redis.error_reply('RESYNC the cursor went back to producer ' .. producer .. ' (this is ' .. ARGV[1] .. '): Redis lost writes')
end
local stored = tonumber(redis.call('HGET', cursor, 'seq') or '0')
if stored >= seq then return {'dup', stored, 0, 0} end
if stored ~= seq - 1 then
  return redis.error_reply('RESYNC the cursor is at write ' .. stored .. ', this is write ' .. seq)
end

local function parse(s)
  local h, sl, hash, id = string.match(s, '^(%S+) (%S+) (%S+) (%S+)$')
  return {height = h, slot = sl, hash = hash, id = id}
end
local function fields(op)
  return {'type', 'apply', 'slot', op.slot, 'height', op.height, 'hash', op.hash, 'era', op.era, 'block', op.block}
end
local function fetch(id)
  local r = redis.call('XRANGE', events, id, id)
  if #r == 0 then return nil end
  return r[1][2]
end

-- 1. validation against a virtual window: the stored entries [head, len - tail) + this batch's applies
local len = redis.call('LLEN', window)
local head, tail = 0, 0
local pushed, pHead = {}, 1
local ops = {}
local ev = 0
local i = 8
while i <= #ARGV do
  local kind = ARGV[i]
  if kind == 'A' then
    local op = {kind = 'A', slot = ARGV[i + 1], height = ARGV[i + 2], hash = ARGV[i + 3], era = ARGV[i + 4], block = ARGV[i + 5]}
    op.id = seq .. '-' .. ev
    ev = ev + 1
    op.entry = op.height .. ' ' .. op.slot .. ' ' .. op.hash .. ' ' .. op.id
    op.fields = fields(op)
    pushed[#pushed + 1] = op
    ops[#ops + 1] = op
    i = i + 6
  elseif kind == 'U' or kind == 'F' then
    local hash = ARGV[i + 1]
    local src
    if kind == 'U' then
      if #pushed >= pHead then
        src = pushed[#pushed]
        pushed[#pushed] = nil
      elseif len - head - tail > 0 then
        local e = parse(redis.call('LINDEX', window, len - 1 - tail))
        tail = tail + 1
        src = {hash = e.hash, fields = fetch(e.id), id = e.id}
      end
    else
      if len - head - tail > 0 then
        local e = parse(redis.call('LINDEX', window, head))
        head = head + 1
        src = {hash = e.hash, fields = fetch(e.id), id = e.id}
      elseif #pushed >= pHead then
        src = pushed[pHead]
        pHead = pHead + 1
      end
    end
    if src == nil then
      return redis.error_reply('RESYNC ' .. kind .. ' ' .. hash .. ' past the stored window (' .. len .. ' blocks)')
    end
    if src.hash ~= hash then
      return redis.error_reply('RESYNC ' .. kind .. ' ' .. hash .. ' but the window holds ' .. src.hash .. ' there')
    end
    if src.fields == nil then
      return redis.error_reply('RESYNC the apply entry ' .. src.id .. ' of ' .. hash .. ' is missing from ' .. events)
    end
    local op = {kind = kind, hash = hash, fields = src.fields, ref = src.id}
    if kind == 'U' then
      op.id = seq .. '-' .. ev
      ev = ev + 1
    end
    ops[#ops + 1] = op
    i = i + 2
  elseif kind == 'R' then
    -- a rollback below a start point that is not final: every held block was undone before it
    if redis.call('HGET', cursor, 'final_provisional') ~= '1' then
      return redis.error_reply('RESYNC restart at ' .. ARGV[i + 2] .. ' but the final point ' .. tostring(redis.call('HGET', cursor, 'final_hash')) .. ' is final')
    end
    if len - head - tail > 0 or #pushed >= pHead then
      return redis.error_reply('RESYNC restart at ' .. ARGV[i + 2] .. ' while the window still holds blocks')
    end
    ops[#ops + 1] = {kind = 'R', slot = ARGV[i + 1], hash = ARGV[i + 2]}
    i = i + 3
  else
    return redis.error_reply('ERR relay-write: unknown op ' .. tostring(kind))
  end
end

-- 2. the writes
local function typed(f, t)
  local out = {}
  for k = 1, #f, 2 do
    out[k] = f[k]
    if f[k] == 'type' then out[k + 1] = t else out[k + 1] = f[k + 1] end
  end
  return out
end
-- a final entry: the apply's point and era, and the id of the apply entry that holds the block
local function finalFields(f, ref)
  local out = {}
  for k = 1, #f, 2 do
    if f[k] == 'type' then
      out[#out + 1] = 'type'
      out[#out + 1] = 'final'
    elseif f[k] ~= 'block' then
      out[#out + 1] = f[k]
      out[#out + 1] = f[k + 1]
    end
  end
  out[#out + 1] = 'ref'
  out[#out + 1] = ref
  return out
end
local function thin(top)
  local all = redis.call('ZRANGE', checkpoints, 0, -1, 'WITHSCORES')
  for k = 1, #all, 2 do
    local h = tonumber(all[k + 1])
    local d = top - h
    if d > 8 then
      local step = 1
      while step * 8 < d do step = step * 2 end
      if h % step ~= 0 then redis.call('ZREM', checkpoints, all[k]) end
    end
  end
end
local na, nu, nf = 0, 0, 0
for _, op in ipairs(ops) do
  if op.kind == 'A' then
    redis.call('XADD', events, op.id, unpack(op.fields))
    redis.call('RPUSH', window, op.entry)
    na = na + 1
  elseif op.kind == 'U' then
    redis.call('RPOP', window)
    redis.call('XADD', events, op.id, unpack(typed(op.fields, 'undo')))
    nu = nu + 1
  elseif op.kind == 'F' then
    local e = parse(redis.call('LPOP', window))
    redis.call('XADD', final, seq .. '-' .. nf, unpack(finalFields(op.fields, op.ref)))
    nf = nf + 1
    local old = redis.call('HMGET', cursor, 'final_height', 'final_slot', 'final_hash')
    if old[1] and old[1] ~= '' and old[3] ~= 'origin' then
      redis.call('ZADD', checkpoints, old[1], old[2] .. ' ' .. old[3])
    end
    redis.call('HSET', cursor, 'final_height', e.height, 'final_slot', e.slot, 'final_hash', e.hash, 'final_provisional', '0')
    if tonumber(e.height) % 16 == 0 then thin(tonumber(e.height)) end
  elseif op.kind == 'R' then
    redis.call('HSET', cursor, 'final_slot', op.slot, 'final_hash', op.hash, 'final_height', '')
    redis.call('HINCRBY', metrics, 'restarts', 1)
  end
end
redis.call('HSET', cursor, 'seq', seq, 'updated_ms', ARGV[7])
if ARGV[6] ~= '' then redis.call('HSET', cursor, 'tip_slot', ARGV[4], 'tip_hash', ARGV[5], 'tip_height', ARGV[6]) end
redis.call('HINCRBY', metrics, 'writes', 1)
if na > 0 then redis.call('HINCRBY', metrics, 'applies', na) end
if nu > 0 then
  redis.call('HINCRBY', metrics, 'undos', nu)
  redis.call('HINCRBY', metrics, 'rollbacks', 1)
end
if nf > 0 then redis.call('HINCRBY', metrics, 'finals', nf) end

-- 3. lag, and trimming: never the window's apply entries, never what a group has not read or
-- acknowledged yet, never an apply entry that a final entry still in \`final\` refers to
local eLag, eMin = groupsInfo(events, seq)
local fLag, fMin = groupsInfo(final, seq)
if retain > 0 then
  local fcut = seq - retain + 1
  if fMin ~= nil and fMin < fcut then fcut = fMin end
  if fcut > 1 and nf > 0 then redis.call('XTRIM', final, 'MINID', '~', fcut .. '-0') end
  local cut = seq - retain + 1
  local oldest = redis.call('LINDEX', window, 0)
  if oldest then
    local s = seqOf(parse(oldest).id)
    if s < cut then cut = s end
  end
  if eMin ~= nil and eMin < cut then cut = eMin end
  local firstFinal = redis.call('XRANGE', final, '-', '+', 'COUNT', 1)[1]
  if firstFinal then
    local f = firstFinal[2]
    for k = 1, #f, 2 do
      if f[k] == 'ref' then
        local s = seqOf(f[k + 1])
        if s < cut then cut = s end
      end
    end
  end
  if cut > 1 then redis.call('XTRIM', events, 'MINID', '~', cut .. '-0') end
end
local lag = eLag
if fLag > lag then lag = fLag end
return {'ok', seq, lag, redis.call('XLEN', events)}
`
)

/** Backpressure poll: {max group lag, XLEN events}. */
export const LAG_SCRIPT = script(
  "relay-lag",
  `${LAG}
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local eLag = groupsInfo(KEYS[2], seq)
local fLag = groupsInfo(KEYS[3], seq)
local lag = eLag
if fLag > lag then lag = fLag end
return {lag, redis.call('XLEN', KEYS[2])}
`
)

/**
 * Takes the cursor over: bumps the fencing token (an older producer's next write is FENCED) and
 * returns it, or 0 when there is no cursor yet.
 */
export const CLAIM_SCRIPT = script(
  "relay-claim",
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'producer', 1)
`
)

/**
 * Creates the cursor of a fresh relay at a start point (producer 1, seq 0). Refuses when the
 * cursor appeared meanwhile, or when relay streams exist without a cursor (their ids would clash).
 * ARGV: depth, format, anchor slot, anchor hash ("origin"), anchor height ("" = unknown), now,
 * provisional ("1": the start point is not final, "0": it is, e.g. the seam of `sync`), then
 * field/value pairs to add (e.g. the seam of `sync`).
 */
export const INIT_SCRIPT = script(
  "relay-init",
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('RACE a relay cursor appeared at ' .. KEYS[1]) end
-- streams may exist empty (consumers create their groups with MKSTREAM before the relay starts)
for k = 2, #KEYS do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    local orphan = redis.call('TYPE', KEYS[k])['ok'] ~= 'stream'
    if not orphan then
      local info = redis.call('XINFO', 'STREAM', KEYS[k])
      for j = 1, #info, 2 do
        if info[j] == 'last-generated-id' and info[j + 1] ~= '0-0' then orphan = true end
      end
    end
    if orphan then return redis.error_reply('ORPHAN ' .. KEYS[k] .. ' exists (with entries) without a relay cursor') end
  end
end
redis.call('HSET', KEYS[1], 'producer', 1, 'seq', 0, 'depth', ARGV[1], 'format', ARGV[2],
  'final_slot', ARGV[3], 'final_hash', ARGV[4], 'final_height', ARGV[5], 'created_ms', ARGV[6], 'updated_ms', ARGV[6],
  'final_provisional', ARGV[7])
for k = 8, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[k], ARGV[k + 1]) end
return 1
`
)

/** KEYS: [cursor, window]. Deletes a cursor under which nothing was written (seq 0). */
export const DISCARD_SCRIPT = script(
  "relay-discard",
  `
if redis.call('HGET', KEYS[1], 'seq') == '0' and redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`
)
