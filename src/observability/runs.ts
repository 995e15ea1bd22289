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
import { Redis as IORedis } from "ioredis"
import { redactCredentials } from "../domain/redacted-url.js"
import { defaults } from "../services/HecateConfig.js"

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

export interface RunHistory {
  readonly prefix: string
  readonly save: (record: RunRecord) => Promise<void>
  readonly list: (limit?: number) => Promise<Array<RunRecord>>
  readonly get: (id: string) => Promise<RunRecord | undefined>
  /** Appends to the run's log, keeping the newest `logCap` lines (credentials redacted). */
  readonly appendLog: (id: string, entries: ReadonlyArray<RunLogEntry>) => Promise<void>
  /** The run's kept log, oldest first, and how many lines were ever appended. */
  readonly readLog: (id: string) => Promise<{ readonly entries: Array<RunLogEntry>; readonly total: number }>
  readonly recordEpochs: (id: string, epochs: ReadonlyArray<RunEpoch>) => Promise<void>
  readonly readEpochs: (id: string) => Promise<Array<RunEpoch>>
  readonly close: () => void
}

export interface RunHistoryOptions {
  readonly url: string
  readonly prefix?: string | undefined
  readonly keep?: number | undefined
  readonly logCap?: number | undefined
  /** fail fast (the `runs` command) instead of reconnecting in the background (the recorder) */
  readonly failFast?: boolean
}

export const makeRunHistory = (options: RunHistoryOptions): RunHistory => {
  // HECATE_RUNS_PREFIX / HECATE_RUNS_KEEP reach here through the settings (src/config)
  const prefix = options.prefix ?? DEFAULT_RUNS_PREFIX
  const keep = options.keep ?? DEFAULT_RUNS_KEEP
  const logCap = options.logCap ?? DEFAULT_RUN_LOG_CAP
  const keys = runKeys(prefix)
  const client = new IORedis(options.url, {
    lazyConnect: true,
    connectionName: "hecate-runs",
    connectTimeout: 2_000,
    enableOfflineQueue: options.failFast !== true,
    maxRetriesPerRequest: options.failFast === true ? 0 : 1,
    retryStrategy: options.failFast === true ? () => null : (times) => Math.min(times * 200, 2_000)
  })
  // ioredis reports a refused SELECT (REDIS_URL names a database the server does not have) only
  // as an error event, then carries on in database 0: the history must never land there instead
  let refusedDb: Error | undefined
  client.on("error", (error: Error) => {
    if (/DB index is out of range/i.test(error.message)) refusedDb = error
  })
  let connecting: Promise<void> | undefined
  const ready = async () => {
    if (refusedDb !== undefined) throw refusedDb
    if (client.status === "ready") return
    if (client.status === "wait" || client.status === "end") {
      connecting ??= client.connect().finally(() => (connecting = undefined))
    }
    if (connecting !== undefined) await connecting
    if (refusedDb !== undefined) {
      client.disconnect()
      throw refusedDb
    }
  }
  return {
    prefix,
    save: async (record) => {
      await ready()
      const fields = Object.entries(toHash(record)).flat()
      await client.eval(SAVE_SCRIPT, 2, keys.index, keys.run(record.id), String(Date.parse(record.startedAt) || Date.now()), record.id, String(keep), prefix, ...fields)
    },
    list: async (limit = 20) => {
      await ready()
      const ids = await client.zrevrange(keys.index, 0, Math.max(0, limit - 1))
      const pipeline = client.pipeline()
      for (const id of ids) pipeline.hgetall(keys.run(id))
      const replies = (await pipeline.exec()) ?? []
      return replies.flatMap(([error, h]) => {
        if (error !== null) return []
        const r = fromHash(h as Record<string, string>)
        return r === undefined ? [] : [settle(r)]
      })
    },
    get: async (id) => {
      await ready()
      const r = fromHash(await client.hgetall(keys.run(id)))
      return r === undefined ? undefined : settle(r)
    },
    appendLog: async (id, entries) => {
      if (entries.length === 0) return
      await ready()
      await client.multi()
        .rpush(keys.log(id), ...entries.map((e) => redactCredentials(JSON.stringify(e))))
        .ltrim(keys.log(id), -logCap, -1)
        .hincrby(keys.run(id), "log_total", entries.length)
        .exec()
    },
    readLog: async (id) => {
      await ready()
      const [lines, total] = await Promise.all([client.lrange(keys.log(id), 0, -1), client.hget(keys.run(id), "log_total")])
      const entries = lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as RunLogEntry]
        } catch {
          return []
        }
      })
      return { entries, total: Math.max(entries.length, Number(total ?? 0)) }
    },
    recordEpochs: async (id, epochs) => {
      if (epochs.length === 0) return
      await ready()
      await client.hset(keys.epochs(id), ...epochs.flatMap((e) => [String(e.epoch), redactCredentials(JSON.stringify(e))]))
    },
    readEpochs: async (id) => {
      await ready()
      const h = await client.hgetall(keys.epochs(id))
      return Object.values(h).flatMap((v) => {
        try {
          return [JSON.parse(v) as RunEpoch]
        } catch {
          return []
        }
      }).sort((a, b) => a.epoch - b.epoch)
    },
    close: () => {
      client.disconnect()
    }
  }
}

/**
 * Whether a Redis answers at `url` within `timeoutMs`: undefined when it does, else why not. A run
 * that needs no Redis (the jsonl / cli sinks) asks once at its start and, without one, keeps no
 * history instead of retrying in the background and waiting for Redis at its end.
 */
export const probeRedis = async (url: string, timeoutMs = 1_000): Promise<string | undefined> => {
  const client = new IORedis(url, {
    lazyConnect: true,
    connectionName: "hecate-runs-probe",
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    // ioredis keeps a timer of disconnectTimeout (2 s) after disconnecting a socket that never
    // opened, which would hold the process that long at its end
    disconnectTimeout: 50,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null
  })
  // the socket's error (ECONNREFUSED …) says more than connect()'s "Connection is closed."
  let socketError: string | undefined
  client.on("error", (e: Error) => (socketError ??= e.message))
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (e) {
    return socketError ?? (e instanceof Error && e.message !== "" ? e.message : String(e))
  } finally {
    client.disconnect()
  }
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
  /** the last write's error as thrown (ioredis'), for a message in Hecate's words */
  lastCause: unknown

  constructor(
    private readonly history: RunHistory,
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
    this.writing = this.history.save(snapshot).then(async () => {
      await this.history.appendLog(snapshot.id, lines)
      await this.history.recordEpochs(snapshot.id, epochs)
    }).then(
      () => {
        this.saved = true
        this.lastError = undefined
        this.lastHeartbeat = now
      },
      (e: unknown) => {
        this.dirty = true
        this.lastError = e instanceof Error ? e.message : String(e)
        // kept for the next try (bounded: the newest lines win, as in Redis)
        this.logBuffer.unshift(...lines)
        if (this.logBuffer.length > DEFAULT_RUN_LOG_CAP) this.logBuffer.splice(0, this.logBuffer.length - DEFAULT_RUN_LOG_CAP)
        for (const e of epochs) if (!this.epochBuffer.has(e.epoch)) this.epochBuffer.set(e.epoch, e)
        this.lastCause = e
      }
    ).finally(() => (this.writing = undefined))
    return this.writing
  }

  /** Final state; tries for up to `timeoutMs` to get it into Redis. */
  async finish(state: Exclude<RunState, "Running">, error?: string, timeoutMs = 3_000): Promise<boolean> {
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.writing !== undefined) await this.writing
    this.record = { ...this.record, state, endedAt: new Date().toISOString(), ...(error === undefined ? {} : { error }) }
    this.dirty = true
    const deadline = Date.now() + timeoutMs
    for (;;) {
      await this.flush(true)
      if (!this.dirty) return true
      if (Date.now() > deadline) return false
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}
