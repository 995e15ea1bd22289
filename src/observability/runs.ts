/**
 * Run history in Redis: every backfill / relay / refresh run is one HASH, indexed by start time in a
 * ZSET and bounded (the oldest runs are dropped past `keep`).
 *
 * Keys under the runs prefix `r` (default `hecate:runs:`, HECATE_RUNS_PREFIX):
 * - `r index` ZSET: score = start time (ms), member = run id
 * - `r run:<id>` HASH: id, command, prefix (the Redis key prefix of the data the run wrote, "" for
 *   none), parameters (JSON), state (Running/Completed/Failed/Cancelled), started_at / ended_at /
 *   heartbeat_at (ISO), blocks, error, host, pid, log_total
 * - `r log:<id>` LIST: the run's log, one JSON `RunLogEntry` per line, oldest first: the warnings,
 *   errors and key info lines of every process that worked for the run, capped at the newest
 *   `logCap` (DEFAULT_RUN_LOG_CAP); `log_total` counts every line ever appended
 * - `r epochs:<id>` HASH: epoch → JSON `RunEpoch` (the run's epoch timeline)
 *
 * The log and the timeline go with their run when it is dropped.
 *
 * Writing is best-effort and never fails a run: the recorder keeps the record in memory and writes
 * it whole (idempotent HSET) whenever it changed, every second, until Redis takes it; so a run
 * started while Redis is down appears once Redis is back. A process killed with SIGKILL (or whose
 * host went down) leaves its run `Running` with a heartbeat that stops moving: once the heartbeat
 * is older than CRASHED_AFTER_MS the run is read back as `Crashed`, ended at its last heartbeat.
 */
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { Context, Effect, Layer, Result } from "effect"
import { redactCredentials } from "../domain/redacted-url.js"
import { defaults } from "../services/HecateConfig.js"
import { Redis, type RedisConnection, type RedisError } from "../services/Redis.js"

/** HECATE_RUNS_PREFIX's and HECATE_RUNS_KEEP's defaults (the settings table holds them). */
export const DEFAULT_RUNS_PREFIX = defaults.runsPrefix
export const DEFAULT_RUNS_KEEP = defaults.runsKeep
/** Lines kept per run log: enough for every epoch of a mainnet backfill and its warnings. */
export const DEFAULT_RUN_LOG_CAP = 2_000
/**
 * A Running run whose heartbeat is older than this has crashed: a live run beats every 5 s (and
 * rewrites its whole record, Running again, as soon as Redis takes it after an outage).
 */
export const CRASHED_AFTER_MS = 30_000

/** `Crashed` is never written: it is how a Running record with an expired heartbeat is read. */
export type RunState = "Running" | "Completed" | "Failed" | "Cancelled" | "Crashed"

export interface RunRecord {
  readonly id: string
  readonly command: string
  /**
   * The Redis key prefix of the data the run wrote (epoch streams, relay streams, list); one
   * history serves every prefix on a Redis. Undefined for a run that wrote none (jsonl, refresh).
   */
  readonly prefix: string | undefined
  readonly parameters: Readonly<Record<string, unknown>>
  readonly state: RunState
  readonly startedAt: string
  readonly endedAt: string | undefined
  readonly heartbeatAt: string | undefined
  readonly blocks: number
  readonly error: string | undefined
  readonly host: string
  readonly pid: number
}

export interface RunLogEntry {
  readonly at: string
  /** INFO / WARN / ERROR / FATAL */
  readonly level: string
  readonly message: string
  /** which process wrote it: `host/pid`, or `worker host/pid` for a distributed backfill's worker */
  readonly process: string
}

/** One epoch of a run: when it started and ended, how, and who did it. */
export interface RunEpoch {
  readonly epoch: number
  readonly state: "active" | "synced" | "committed" | "failed" | "retrying"
  /** ms since the epoch */
  readonly start: number
  readonly end: number | undefined
  readonly attempts: number
  readonly blocks: number | undefined
  readonly error?: string | undefined
  readonly worker?: string | undefined
}

export const newRunId = (now = Date.now()): string => `${now.toString(36)}-${randomBytes(3).toString("hex")}`

export const runKeys = (prefix: string) => ({
  index: `${prefix}index`,
  run: (id: string) => `${prefix}run:${id}`,
  log: (id: string) => `${prefix}log:${id}`,
  epochs: (id: string) => `${prefix}epochs:${id}`
})

// parameters and errors may quote an Ogmios endpoint or a Redis URL: stored without credentials
const toHash = (r: RunRecord): Record<string, string> => ({
  id: r.id,
  command: r.command,
  prefix: r.prefix ?? "",
  parameters: redactCredentials(JSON.stringify(r.parameters)),
  state: r.state,
  started_at: r.startedAt,
  ended_at: r.endedAt ?? "",
  heartbeat_at: r.heartbeatAt ?? "",
  blocks: String(r.blocks),
  error: redactCredentials(r.error ?? ""),
  host: r.host,
  pid: String(r.pid)
})

const fromHash = (h: Record<string, string>): RunRecord | undefined => {
  if (h["id"] === undefined || h["id"] === "") return undefined
  let parameters: Record<string, unknown> = {}
  try {
    parameters = JSON.parse(h["parameters"] ?? "{}") as Record<string, unknown>
  } catch {
    // keep {}
  }
  const opt = (k: string) => (h[k] === undefined || h[k] === "" ? undefined : h[k])
  return {
    id: h["id"],
    command: h["command"] ?? "?",
    prefix: opt("prefix"),
    parameters,
    state: (h["state"] ?? "Running") as RunState,
    startedAt: h["started_at"] ?? "",
    endedAt: opt("ended_at"),
    heartbeatAt: opt("heartbeat_at"),
    blocks: Number(h["blocks"] ?? 0),
    error: opt("error"),
    host: h["host"] ?? "",
    pid: Number(h["pid"] ?? 0)
  }
}

/** HSET the record, index it, and drop the runs beyond `keep` (one script: atomic). */
const SAVE_SCRIPT = `
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
local keep = tonumber(ARGV[3])
local n = redis.call('ZCARD', KEYS[1])
if n > keep then
  local old = redis.call('ZRANGE', KEYS[1], 0, n - keep - 1)
  for _, id in ipairs(old) do redis.call('DEL', ARGV[4] .. 'run:' .. id, ARGV[4] .. 'log:' .. id, ARGV[4] .. 'epochs:' .. id) end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - keep - 1)
end
return n
`

export interface RunHistoryShape {
  readonly prefix: string
  readonly save: (record: RunRecord) => Effect.Effect<void, RedisError>
  readonly list: (limit?: number) => Effect.Effect<Array<RunRecord>, RedisError>
  readonly get: (id: string) => Effect.Effect<RunRecord | undefined, RedisError>
  /** Appends to the run's log, keeping the newest `logCap` lines (credentials redacted). */
  readonly appendLog: (id: string, entries: ReadonlyArray<RunLogEntry>) => Effect.Effect<void, RedisError>
  /** The run's kept log, oldest first, and how many lines were ever appended. */
  readonly readLog: (id: string) => Effect.Effect<{ readonly entries: Array<RunLogEntry>; readonly total: number }, RedisError>
  readonly recordEpochs: (id: string, epochs: ReadonlyArray<RunEpoch>) => Effect.Effect<void, RedisError>
  readonly readEpochs: (id: string) => Effect.Effect<Array<RunEpoch>, RedisError>
}

export interface RunHistoryOptions {
  readonly prefix?: string | undefined
  readonly keep?: number | undefined
  readonly logCap?: number | undefined
}

const parseLines = <A>(lines: ReadonlyArray<string>): Array<A> =>
  lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as A]
    } catch {
      return []
    }
  })

/**
 * The run history over a Redis connection. Every method is one round trip (a script, a MULTI or a
 * pipeline) and fails with a RedisError: callers decide whether that matters (the recorder retries,
 * `runs` reports it).
 */
export const makeRunHistory = (redis: RedisConnection, options: RunHistoryOptions = {}): RunHistoryShape => {
  // HECATE_RUNS_PREFIX / HECATE_RUNS_KEEP reach here through the settings (src/config)
  const prefix = options.prefix ?? DEFAULT_RUNS_PREFIX
  const keep = options.keep ?? DEFAULT_RUNS_KEEP
  const logCap = options.logCap ?? DEFAULT_RUN_LOG_CAP
  const keys = runKeys(prefix)
  return {
    prefix,
    save: Effect.fn("RunHistory.save")(function*(record: RunRecord) {
      const fields = Object.entries(toHash(record)).flat()
      yield* redis.use(
        (c) => c.eval(SAVE_SCRIPT, 2, keys.index, keys.run(record.id), String(Date.parse(record.startedAt) || Date.now()), record.id, String(keep), prefix, ...fields),
        `saving run ${record.id}`
      )
    }),
    list: Effect.fn("RunHistory.list")(function*(limit: number = 20) {
      const replies = yield* redis.use(async (c) => {
        const ids = await c.zrevrange(keys.index, 0, Math.max(0, limit - 1))
        if (ids.length === 0) return []
        const pipeline = c.pipeline()
        for (const id of ids) pipeline.hgetall(keys.run(id))
        return (await pipeline.exec()) ?? []
      }, "listing the runs")
      return replies.flatMap(([error, h]) => {
        if (error !== null) return []
        const r = fromHash(h as Record<string, string>)
        return r === undefined ? [] : [settle(r)]
      })
    }),
    get: Effect.fn("RunHistory.get")(function*(id: string) {
      const r = fromHash(yield* redis.use((c) => c.hgetall(keys.run(id)), `reading run ${id}`))
      return r === undefined ? undefined : settle(r)
    }),
    appendLog: Effect.fn("RunHistory.appendLog")(function*(id: string, entries: ReadonlyArray<RunLogEntry>) {
      if (entries.length === 0) return
      yield* redis.use(
        (c) =>
          c.multi()
            .rpush(keys.log(id), ...entries.map((e) => redactCredentials(JSON.stringify(e))))
            .ltrim(keys.log(id), -logCap, -1)
            .hincrby(keys.run(id), "log_total", entries.length)
            .exec(),
        `appending to the log of run ${id}`
      )
    }),
    readLog: Effect.fn("RunHistory.readLog")(function*(id: string) {
      const [lines, total] = yield* redis.use(
        (c) => Promise.all([c.lrange(keys.log(id), 0, -1), c.hget(keys.run(id), "log_total")]),
        `reading the log of run ${id}`
      )
      const entries = parseLines<RunLogEntry>(lines)
      return { entries, total: Math.max(entries.length, Number(total ?? 0)) }
    }),
    recordEpochs: Effect.fn("RunHistory.recordEpochs")(function*(id: string, epochs: ReadonlyArray<RunEpoch>) {
      if (epochs.length === 0) return
      yield* redis.use(
        (c) => c.hset(keys.epochs(id), ...epochs.flatMap((e) => [String(e.epoch), redactCredentials(JSON.stringify(e))])),
        `recording the epochs of run ${id}`
      )
    }),
    readEpochs: Effect.fn("RunHistory.readEpochs")(function*(id: string) {
      const h = yield* redis.use((c) => c.hgetall(keys.epochs(id)), `reading the epochs of run ${id}`)
      return parseLines<RunEpoch>(Object.values(h)).sort((a, b) => a.epoch - b.epoch)
    })
  }
}

/** The run history as a service over the `Redis` service (a lazy one: see `RedisLive.lazy`). */
export class RunHistory extends Context.Service<RunHistory, RunHistoryShape>()("hecate/RunHistory") {
  static readonly layer = (options: RunHistoryOptions = {}): Layer.Layer<RunHistory, never, Redis> =>
    Layer.effect(
      RunHistory,
      Effect.gen(function*() {
        return RunHistory.of(makeRunHistory(yield* Redis, options))
      })
    )
}

/**
 * The record as it stands at `now`: a Running run whose heartbeat expired is Crashed, ended at its
 * last heartbeat, with an error saying so.
 */
export const settle = (r: RunRecord, now = Date.now()): RunRecord => {
  if (r.state !== "Running") return r
  const beat = Date.parse(r.heartbeatAt ?? r.startedAt)
  if (!Number.isFinite(beat) || now - beat <= CRASHED_AFTER_MS) return r
  return {
    ...r,
    state: "Crashed",
    endedAt: new Date(beat).toISOString(),
    error: r.error ?? `no heartbeat since ${new Date(beat).toISOString()}: the process (${r.host} pid ${r.pid}) ended without recording its end`
  }
}

/** State as shown (a Running record with an expired heartbeat is Crashed). */
export const shownState = (r: RunRecord, now = Date.now()): string => settle(r, now).state

/**
 * The in-memory record of the current run, written to Redis in the background (every second when
 * it changed, and a heartbeat every 5 s), and a last time at the end.
 */
export class RunRecorder {
  private record: RunRecord
  private dirty = true
  private saved = false
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | undefined
  private lastHeartbeat = 0
  private readonly logBuffer: Array<RunLogEntry> = []
  private readonly epochBuffer = new Map<number, RunEpoch>()
  private readonly epochs = new Map<number, RunEpoch>()
  lastError: string | undefined
  /** the last write's error, in Hecate's words */
  lastCause: RedisError | undefined

  constructor(
    private readonly history: RunHistoryShape,
    init: { readonly command: string; readonly prefix?: string | undefined; readonly parameters: Readonly<Record<string, unknown>>; readonly id?: string },
    private readonly blocks: () => number = () => 0
  ) {
    const now = new Date()
    this.record = {
      id: init.id ?? newRunId(now.getTime()),
      command: init.command,
      prefix: init.prefix,
      parameters: init.parameters,
      state: "Running",
      startedAt: now.toISOString(),
      endedAt: undefined,
      heartbeatAt: now.toISOString(),
      blocks: 0,
      error: undefined,
      host: hostname(),
      pid: process.pid
    }
  }

  get id(): string {
    return this.record.id
  }
  get current(): RunRecord {
    return { ...this.record, blocks: this.blocks() }
  }
  get persisted(): boolean {
    return this.saved
  }

  /** A line for the run's log (written with the next flush). */
  log(entry: RunLogEntry): void {
    this.logBuffer.push(entry)
    if (this.logBuffer.length > DEFAULT_RUN_LOG_CAP) this.logBuffer.splice(0, this.logBuffer.length - DEFAULT_RUN_LOG_CAP)
  }

  /** Updates one epoch of the run's timeline (merged into what is known of it). */
  epoch(epoch: number, update: Partial<Omit<RunEpoch, "epoch">>): void {
    const before = this.epochs.get(epoch)
    const next: RunEpoch = {
      epoch,
      state: "active",
      start: Date.now(),
      end: undefined,
      attempts: 1,
      blocks: undefined,
      ...before,
      ...update
    }
    this.epochs.set(epoch, next)
    this.epochBuffer.set(epoch, next)
  }

  /** Every epoch up to `lastSynced` that was synced is now committed. */
  committed(lastSynced: number): void {
    for (const [epoch, e] of this.epochs) if (epoch <= lastSynced && e.state === "synced") this.epoch(epoch, { state: "committed" })
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), 1_000)
    this.timer.unref()
    void this.flush()
  }

  private async flush(force = false): Promise<void> {
    if (this.writing !== undefined) return this.writing
    const now = Date.now()
    const blocks = this.blocks()
    if (blocks !== this.record.blocks) this.dirty = true
    if (now - this.lastHeartbeat > 5_000 && this.record.state === "Running") this.dirty = true
    if (!this.dirty && !force && this.logBuffer.length === 0 && this.epochBuffer.size === 0) return
    if (this.record.state === "Running") this.record = { ...this.record, heartbeatAt: new Date(now).toISOString() }
    this.record = { ...this.record, blocks }
    const snapshot = this.record
    this.dirty = false
    const lines = this.logBuffer.splice(0)
    const epochs = [...this.epochBuffer.values()]
    this.epochBuffer.clear()
    // the recorder lives outside any fiber (a timer): each write runs on its own
    const write = this.history.save(snapshot).pipe(
      Effect.andThen(this.history.appendLog(snapshot.id, lines)),
      Effect.andThen(this.history.recordEpochs(snapshot.id, epochs)),
      Effect.result
    )
    this.writing = Effect.runPromise(write).then((result) => {
      if (Result.isSuccess(result)) {
        this.saved = true
        this.lastError = undefined
        this.lastCause = undefined
        this.lastHeartbeat = now
        return
      }
      this.dirty = true
      this.lastError = result.failure.message
      this.lastCause = result.failure
      // kept for the next try (bounded: the newest lines win, as in Redis)
      this.logBuffer.unshift(...lines)
      if (this.logBuffer.length > DEFAULT_RUN_LOG_CAP) this.logBuffer.splice(0, this.logBuffer.length - DEFAULT_RUN_LOG_CAP)
      for (const e of epochs) if (!this.epochBuffer.has(e.epoch)) this.epochBuffer.set(e.epoch, e)
    }).finally(() => (this.writing = undefined))
    return this.writing
  }

  /**
   * Final state; tries for up to `timeoutMs` in all to get it into Redis (the write in flight
   * included), so a stopping process never waits longer on a Redis that does not answer.
   */
  async finish(state: Exclude<RunState, "Running">, error?: string, timeoutMs = 3_000): Promise<boolean> {
    if (this.timer !== undefined) clearInterval(this.timer)
    const deadline = Date.now() + timeoutMs
    const withinDeadline = (p: Promise<void>): Promise<void> =>
      Promise.race([p, new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())])
    if (this.writing !== undefined) await withinDeadline(this.writing)
    this.record = { ...this.record, state, endedAt: new Date().toISOString(), ...(error === undefined ? {} : { error }) }
    this.dirty = true
    for (;;) {
      if (this.writing === undefined) await withinDeadline(this.flush(true))
      if (!this.dirty && this.writing === undefined) return true
      if (Date.now() >= deadline) return false
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}
