/**
 * `printChain` through the library API (`hecate/consumer`), in-process on real Redis: a history
 * written by hand is printed to a writable in samples of `max` items, each run going on exactly
 * after the last one's acknowledged lines; a reader that goes away or a failing write leaves the
 * unwritten item unacknowledged; `out` appends every block exactly once across runs and refuses
 * a file that lacks what the group acknowledged. `groupLag` reads Redis's lag of a group.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Writable } from "node:stream"
import { Cause, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import { afterAll, describe, expect, it } from "vitest"
import { groupLag, printChain, type PrintChainOptions } from "../../src/consumer/index.js"
import { RedisLive } from "../../src/layers/RedisLive.js"
import { Telemetry } from "../../src/observability/Telemetry.js"
import { Redis as RedisService } from "../../src/services/Redis.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { parseLines, useTestRedis, writeHistory } from "./support.js"

let redis: Redis
const prefixes: Array<string> = []
useTestRedis((r) => (redis = r), prefixes)
const dir = mkdtempSync(join(tmpdir(), "hecate-print-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let n = 0
const newPrefix = () => {
  const prefix = `hecate:test:consume:${process.pid}-${n++}:`
  prefixes.push(prefix)
  return prefix
}

const layers = Layer.mergeAll(RedisLive.layer({ url: Redacted.make(TEST_REDIS_URL), connectionName: "hecate-test-print" }), Telemetry.layer)

/** A writable that keeps what it was given; `fail(i)` decides the error of the i-th write (0-based), if any. */
const collector = (fail: (i: number) => NodeJS.ErrnoException | undefined = () => undefined) => {
  let text = ""
  let writes = 0
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const error = fail(writes++)
      if (error !== undefined) return callback(error)
      text += chunk.toString()
      callback()
    }
  })
  return { stream, text: () => text }
}

/** The expected failure a run ended with. */
const failureOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) as { readonly _tag: string; readonly message: string } | undefined : undefined

const errno = (code: string) => Object.assign(new Error(`${code}: write failed`), { code })

const print = (options: Omit<PrintChainOptions, "format" | "inFlight" | "claimIdleMs" | "progressIntervalMs" | "consumer">) =>
  Effect.runPromiseExit(
    printChain({ format: "jsonl", inFlight: 4, claimIdleMs: 60_000, progressIntervalMs: 60_000, consumer: "c1", ...options }).pipe(Effect.provide(layers))
  )

describe("printChain", () => {
  it("prints samples of exactly max items to a writable; each run goes on right after the last one's", async () => {
    const history = newPrefix()
    const hashes = await writeHistory(redis, history, 2, 5, 2)
    const printed: Array<string> = []
    for (const max of [4, 1, 5]) {
      const out = collector()
      const exit = await print({ history, group: "sample", max, output: out.stream })
      expect(Exit.isSuccess(exit)).toBe(true)
      const lines = parseLines(out.text())
      expect(lines).toHaveLength(max)
      expect(lines.every((l) => l.type === "apply" && l.source === "history")).toBe(true)
      printed.push(...lines.map((l) => l.hash))
    }
    expect(printed).toEqual(hashes)
    // every printed item is acknowledged: nothing pending for the group on either epoch
    for (const e of [0, 1]) expect(((await redis.xpending(`${history}epoch:${e}`, "sample")) as Array<unknown>)[0]).toBe(0)
  }, 30_000)

  it("a reader that goes away (EPIPE) ends the run quietly; a failed write (ENOSPC) fails it; neither acknowledges the unwritten item", async () => {
    const history = newPrefix()
    const hashes = await writeHistory(redis, history, 1, 8, 8)
    const closed = collector((i) => (i === 3 ? errno("EPIPE") : undefined))
    expect(Exit.isSuccess(await print({ history, group: "g", output: closed.stream }))).toBe(true)
    expect(parseLines(closed.text()).map((l) => l.hash)).toEqual(hashes.slice(0, 3))

    const full = collector(() => errno("ENOSPC"))
    const failed = failureOf(await print({ history, group: "g", output: full.stream }))
    expect(failed?._tag).toBe("SinkError")
    expect(failed?.message).toMatch(/ENOSPC.*the item was not acknowledged/)
    expect(full.text()).toBe("")

    const rest = collector()
    expect(Exit.isSuccess(await print({ history, group: "g", max: 5, output: rest.stream }))).toBe(true)
    expect(parseLines(rest.text()).map((l) => l.hash)).toEqual(hashes.slice(3, 8))
  }, 30_000)

  it("out: a file that holds every block exactly once across runs; a file lacking what the group acknowledged is refused", async () => {
    const history = newPrefix()
    const hashes = await writeHistory(redis, history, 2, 6, 3)
    const file = join(dir, "chain.jsonl")
    for (const max of [5, 7]) {
      expect(Exit.isSuccess(await print({ history, group: "file", max, out: { path: file, acceptGap: false } }))).toBe(true)
    }
    expect(parseLines(readFileSync(file, "utf8")).map((l) => l.hash)).toEqual(hashes)

    const fresh = join(dir, "fresh.jsonl")
    const refused = failureOf(await print({ history, group: "file", max: 1, out: { path: fresh, acceptGap: false } }))
    expect(refused?._tag).toBe("InvalidConfiguration")
    expect(refused?.message).toMatch(/fresh\.jsonl is empty, but group file has acknowledged up to position h:0+1:/)
    expect(readFileSync(fresh, "utf8")).toBe("")
  }, 30_000)

  it("groupLag: the entries a group has not been handed; undefined without the stream or the group", async () => {
    const relay = newPrefix()
    const events = `${relay}events`
    for (let i = 1; i <= 3; i++) await redis.xadd(events, `${i}-0`, "type", "apply")
    await redis.xgroup("CREATE", events, "lagging", "0")
    const lag = (key: string, group: string) =>
      Effect.runPromise(Effect.gen(function*() {
        return yield* groupLag(yield* RedisService, key, group)
      }).pipe(Effect.provide(layers)))
    expect(await lag(events, "lagging")).toBe(3)
    await redis.xreadgroup("GROUP", "lagging", "c", "COUNT", 2, "STREAMS", events, ">")
    expect(await lag(events, "lagging")).toBe(1)
    expect(await lag(events, "nobody")).toBeUndefined()
    expect(await lag(`${relay}missing`, "lagging")).toBeUndefined()
  }, 30_000)
})
