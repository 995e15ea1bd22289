// The dashboard in a real headless Chromium (Debian's chromium + playwright-core), in the three
// states an operator meets, each screenshotted to test-artifacts/:
//
// - backfill running (dashboard-backfill-running.png, then dashboard-backfill-paused.png): a
//   backfill against a simulator, two consumer groups on its epoch streams (one reading, one
//   registered and idle); the epoch map fills in (committed, in flight with a progress bar,
//   pending), the groups show their lag, and once the idle group holds back REDIS_MAX_UNCONSUMED_EPOCHS
//   the backfill pauses and the page says since when;
// - relay following (dashboard-relay-following.png): `serve` follows a forking simulator through
//   a proxy that cuts the connection once; tip distance and blocks/s are charted on a time axis,
//   rollbacks fill the histogram, the reconnect is listed with its cause, groups on `events` /
//   `final` show their lag;
// - a failure (dashboard-failure.png): a backfill whose epoch is broken by the proxy fails; the
//   `serve` page lists the Failed run, and its detail shows the redacted parameters, the failed
//   epoch in the timeline, the error and the run's log with its warnings.
// Chromium is required: without it the test FAILS and says how to install it.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Redis as IORedis } from "ioredis"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startSimulator } from "../../src/simulator/index.js"
import { deleteByPrefix, TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { newPrefix, sleep, waitFor } from "../relay/harness.js"
import { runCli } from "../support/cli.js"
import { e2e } from "../support/backfill-e2e.js"
import { startFaultProxy } from "../support/fault-proxy.js"
import { startWorker, stopWorker, testQueue } from "../distributed/support.js"
import { httpUrlOf, startCli } from "./support.js"

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const artifacts = fileURLToPath(new URL("../../test-artifacts/", import.meta.url))

let context: BrowserContext | undefined
let profileDir = ""

const browserPage = async (): Promise<Page> => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH`)
  }
  context ??= await chromium.launchPersistentContext(join(profileDir, "chromium-profile"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1366, height: 860 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
  })
  return context.newPage()
}

const screenshot = async (page: Page, name: string): Promise<void> => {
  mkdirSync(artifacts, { recursive: true })
  const shot = join(artifacts, name)
  rmSync(shot, { force: true })
  await page.screenshot({ path: shot, fullPage: true })
  expect(statSync(shot).size).toBeGreaterThan(10_000)
}

/** A page function (as a string: the test compiles without the DOM lib) polled until true. */
const until = (page: Page, fn: string, timeout = 30_000) => page.waitForFunction(fn, undefined, { timeout, polling: 200 })
const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? ""

/** Every chart is drawn in its own pixels: viewBox width = rendered width (no stretched text). */
const chartsUnscaled = (page: Page) =>
  page.evaluate(`[...document.querySelectorAll("svg.chart")].map((s) => Math.abs(s.viewBox.baseVal.width - s.clientWidth) < 1.5 && s.getAttribute("preserveAspectRatio") !== "none")`) as Promise<Array<boolean>>

beforeAll(() => {
  profileDir = mkdtempSync(join(tmpdir(), "hecate-dash-"))
})
afterAll(async () => {
  await context?.close()
  rmSync(profileDir, { recursive: true, force: true })
})

describe("dashboard in headless Chromium", () => {
  it("backfill running: the epoch map fills in, consumer groups show their lag, backpressure shows since when", async () => {
    const sim = await startSimulator({ port: 0, network: "custom", epochLength: 200, activeSlotsCoefficient: 0.5, securityParameter: 10, meanBlockBytes: 16_384, initialBlocks: 6_000 })
    const prefix = newPrefix()
    const runsPrefix = newPrefix()
    const client = new IORedis(TEST_REDIS_URL)
    const maxUnconsumed = 20
    // answers 400 ms late on every connection: each epoch session lasts long enough to be seen in flight
    const slow = await startFaultProxy(sim.url)
    slow.arm({ kind: "delay", at: { frame: 1 }, repeat: "always", delayMs: 400 })
    // the browser first: the page must be up while the backfill runs
    const page = await browserPage()
    const running = startCli(["backfill", "--endpoint", slow.url, "--redis-prefix", prefix, "--concurrency", "2", "--batch-size", "20", "--http-port", "0"], {
      REDIS_URL: TEST_REDIS_URL,
      HECATE_EPOCH_CACHE: join(profileDir, "epoch-cache.json"),
      HECATE_RUNS_PREFIX: runsPrefix,
      REDIS_MAX_UNCONSUMED_EPOCHS: String(maxUnconsumed)
    })
    // two consumers of the epoch streams: "indexer" reads and acknowledges every committed epoch,
    // "archiver" registers on each and never reads
    let consuming = true
    const consumer = (async () => {
      while (consuming) {
        const ls = Number((await client.get(`${prefix}last_synced_epoch`)) ?? -1)
        for (let e = 0; e <= ls; e++) {
          const key = `${prefix}epoch:${e}`
          for (const group of ["indexer", "archiver"]) await client.xgroup("CREATE", key, group, "0").catch(() => undefined)
          const read = (await client.xreadgroup("GROUP", "indexer", "i1", "COUNT", 100, "STREAMS", key, ">").catch(() => null)) as Array<[string, Array<[string, Array<string>]>]> | null
          const ids = read?.[0]?.[1].map(([id]) => id) ?? []
          if (ids.length > 0) await client.xack(key, "indexer", ...ids)
        }
        await sleep(300)
      }
    })()
    try {
      const base = await httpUrlOf(running)
      expect((await page.goto(`${base}/`))?.status()).toBe(200)
      expect(await page.title()).toBe("Hecate")
      await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 })

      // mid-run: committed, in-flight (with a progress bar) and pending epochs side by side
      await until(page, `document.querySelectorAll(".ep.committed").length >= 4 && document.querySelectorAll(".ep.active .bar").length >= 1 && document.querySelectorAll(".ep.pending").length >= 10`, 60_000)
      await until(page, `/archiver/.test(document.getElementById("groups")?.textContent ?? "") && /indexer/.test(document.getElementById("groups")?.textContent ?? "")`)
      const state = (await (await fetch(`${base}/api/state`)).json()) as {
        epochs: { plan: { epochs: number; start: number; target: number }; map: Array<{ epoch: number; state: string }> }
        overview: { epochs: { groups: Array<{ name: string; lag: number; behind: Array<number> }> } }
      }
      const cells = await page.$$eval(".ep", (els) => els.map((el) => Number(el.getAttribute("data-epoch"))))
      // one cell per planned epoch, in order
      expect(cells).toEqual(Array.from({ length: state.epochs.plan.epochs }, (_, i) => state.epochs.plan.start + i))
      const archiver = state.overview.epochs.groups.find((g) => g.name === "archiver")
      expect(archiver!.lag).toBeGreaterThan(0)
      expect(archiver!.behind.length).toBeGreaterThan(0)
      await until(page, `/blocks\\/s average · ETA (\\d+s|\\d+m \\d\\ds)$/.test(document.getElementById("backfill-rate")?.textContent ?? "")`)
      expect(await chartsUnscaled(page)).toEqual([true, true])
      await until(page, `document.querySelectorAll("#chart .x-tick").length >= 2`)
      await screenshot(page, "dashboard-backfill-running.png")

      // the idle group holds the low watermark: past REDIS_MAX_UNCONSUMED_EPOCHS the backfill pauses
      await until(page, `/backfill PAUSED since \\d\\d:\\d\\d:\\d\\d/.test(document.getElementById("backpressure")?.textContent ?? "")`, 60_000)
      expect(await text(page, "#groups")).toMatch(/backfill paused/)
      const paused = await page.$$eval(".ep.committed", (els) => els.length)
      expect(paused).toBeGreaterThanOrEqual(maxUnconsumed)
      await screenshot(page, "dashboard-backfill-paused.png")

      // `status` prints the same: the pause, and both groups with their lag
      const status = await runCli(["status", "--redis-prefix", prefix], { env: { REDIS_URL: TEST_REDIS_URL, HECATE_RUNS_PREFIX: runsPrefix, HECATE_ENV_FILE: "/dev/null" } })
      expect(status.code, status.stderr).toBe(0)
      expect(status.stdout).toMatch(/Backfill: PAUSED on slow consumers since/)
      expect(status.stdout).toMatch(new RegExp(`${prefix}epoch:\\*\\s+archiver\\s+[\\d,]+\\s+0\\s+\\d+ \\(0–\\d+\\)\\s+epoch 0: backfill paused`))
      const json = JSON.parse((await runCli(["status", "--redis-prefix", prefix, "--json"], { env: { REDIS_URL: TEST_REDIS_URL, HECATE_ENV_FILE: "/dev/null" } })).stdout) as {
        epochs: { backpressure: { paused: boolean }; groups: Array<{ name: string; lag: number }> }
      }
      expect(json.epochs.backpressure.paused).toBe(true)
      expect(json.epochs.groups.map((g) => g.name)).toEqual(["archiver", "indexer"])
      await page.close()
    } finally {
      consuming = false
      await consumer
      running.child()?.kill("SIGTERM")
      await running.done.catch(() => undefined)
      await slow.close()
      await sim.stop()
      await deleteByPrefix(client, prefix)
      await deleteByPrefix(client, runsPrefix)
      client.disconnect()
    }
  }, 150_000)

  it("relay following, then a failed backfill: tip and rate on a time axis, rollbacks, a reconnect with its cause, the failed run's detail and log", async () => {
    const sim = await startSimulator({ port: 0, network: "custom", securityParameter: 20, initialBlocks: 300, meanBlockBytes: 1024, blockIntervalMs: 150, forkRate: 0.15, maxRollback: 4 })
    const proxy = await startFaultProxy(sim.url)
    // one cut connection after 4 s: the relay reconnects and says why
    proxy.arm({ kind: "closeMidFrame", at: { afterMs: 4_000 }, repeat: "once" })
    const prefix = newPrefix()
    const historyPrefix = newPrefix()
    const runsPrefix = newPrefix()
    const client = new IORedis(TEST_REDIS_URL)
    const configPath = join(profileDir, "hecate.config.json")
    writeFileSync(configPath, "{}")
    const env = {
      HECATE_CONFIG: configPath,
      REDIS_URL: TEST_REDIS_URL,
      HECATE_RELAY_PREFIX: prefix,
      HECATE_HISTORY_PREFIX: historyPrefix,
      HECATE_RUNS_PREFIX: runsPrefix
    }
    const running = startCli(["serve", "--relay-start", "origin", "--no-refresh", "--http-port", "0"], { ...env, OGMIOS_ENDPOINTS: JSON.stringify([proxy.url]) })
    const failSim = await startSimulator({ port: 0, network: "custom", epochLength: 100, activeSlotsCoefficient: 0.5, securityParameter: 10, meanBlockBytes: 2048, initialBlocks: 330 })
    const failProxy = await startFaultProxy(failSim.url)
    try {
      const base = await httpUrlOf(running)
      const page = await browserPage()
      expect((await page.goto(`${base}/`))?.status()).toBe(200)
      await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 })
      // consumers of the relay: "app" reads events without acknowledging, "audit" waits on final
      await waitFor("the events stream", async () => (await client.xlen(`${prefix}events`)) > 0)
      await client.xgroup("CREATE", `${prefix}events`, "app", "0")
      await client.xreadgroup("GROUP", "app", "a1", "COUNT", 5, "STREAMS", `${prefix}events`, ">")
      await client.xgroup("CREATE", `${prefix}final`, "audit", "0", "MKSTREAM")

      const first = await text(page, "#height")
      await until(page, `(() => { const now = document.getElementById("height")?.textContent; return !!now && now !== "–" && now !== ${JSON.stringify(first)} })()`)
      expect(await text(page, "#height")).toMatch(/^#[\d,]+$/)
      await until(page, `/^\\d[\\d,]* blocks$/.test(document.getElementById("tip-blocks")?.textContent ?? "")`)
      await until(page, `document.querySelectorAll("#tip-chart .chart-line").length === 1 && document.querySelectorAll("#chart .x-tick").length >= 2`)
      // a rollback shows up once the simulator forks, in the list and the histogram
      await until(page, `document.getElementById("rollbacks").children.length > 0 && document.getElementById("rollback-hist").children.length > 0`, 40_000)
      // the cut connection: a reconnect, with the error that caused it
      await until(page, `document.getElementById("reconnects").children.length > 0`, 40_000)
      expect(proxy.fired).toBe(1)
      expect(await text(page, "#reconnects")).toMatch(/127\.0\.0\.1.*\S/)
      expect((await page.$$eval("#reconnects td:last-child", (tds) => tds.map((td) => td.textContent ?? "")))[0]).not.toBe("")
      await until(page, `/app/.test(document.getElementById("groups")?.textContent ?? "") && /audit/.test(document.getElementById("groups")?.textContent ?? "")`)
      const groupRow = await page.$$eval("#groups tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? "")))
      const app = groupRow.find((r) => r[1] === "app")!
      expect(Number(app[3])).toBe(5) // read, not acknowledged
      expect(await chartsUnscaled(page)).toEqual([true, true])
      // the chart's labels are real text at the page's size, one per tick, with clock times
      const ticks = await page.$$eval("#chart .x-tick", (els) => els.map((el) => el.textContent ?? ""))
      for (const t of ticks) expect(t).toMatch(/^\d\d:\d\d:\d\d$/)
      await until(page, `/relay/.test(document.getElementById("runs")?.textContent ?? "")`)
      // the relay run's detail: its log holds the reconnect warning with the cause
      await page.click("#runs tr:has-text('relay')")
      await until(page, `/Ogmios connection lost \\(.+\\); reconnecting/.test(document.getElementById("run-log")?.textContent ?? "")`)
      expect(await page.$$eval("#run-log .log-WARN", (els) => els.length)).toBeGreaterThan(0)
      await screenshot(page, "dashboard-relay-following.png")

      // `status` prints the relay and its consumer groups too
      const status = await runCli(["status", "--redis-prefix", historyPrefix, "--relay-prefix", prefix], { env: { ...env, HECATE_ENV_FILE: "/dev/null" } })
      expect(status.code, status.stderr).toBe(0)
      expect(status.stdout).toMatch(new RegExp(`Relay ${prefix} — following since .*; height [\\d,]+, \\d+ blocks behind the tip; .*reconnects 1 \\(last: .*closed mid-frame`))
      expect(status.stdout).toMatch(new RegExp(`${prefix}events\\s+app\\s+[\\d,]+\\s+5\\s+nothing`))
      expect(status.stdout).toMatch(new RegExp(`${prefix}final\\s+audit\\s+[\\d,]+\\s+0\\s+nothing`))

      // a failure: epoch 2's blocks are broken on every attempt; the run fails and says why
      failProxy.arm({ kind: "breakParent", at: { height: 120 }, repeat: "always" })
      const failed = await runCli(
        ["backfill", "--endpoint", failProxy.url.replace("ws://", "ws://operator:s3cret-key@"), "--redis-prefix", historyPrefix, "--retries", "2", "--retry-delay", "0"],
        { env: { ...env, HECATE_EPOCH_CACHE: join(profileDir, "fail-cache.json"), HECATE_ENV_FILE: "/dev/null", REDIS_MAX_UNCONSUMED_EPOCHS: "1000" } }
      )
      expect(failed.code).not.toBe(0)
      await until(page, `/Failed/.test(document.getElementById("runs")?.textContent ?? "")`)
      const failedId = (await page.getAttribute("#runs tr:has-text('Failed')", "data-id")) ?? ""
      expect(failedId).not.toBe("")
      await page.click("#runs tr:has-text('Failed')")
      await until(page, `document.getElementById("run-id").textContent === ${JSON.stringify(failedId)} && document.querySelectorAll("#run-timeline .tl").length > 0 && /run failed/.test(document.getElementById("run-log").textContent)`)
      const detail = await text(page, "#run-detail")
      expect(detail).not.toContain("s3cret-key")
      expect(detail).toContain("operator:***@")
      expect(await text(page, "#run-fields")).toMatch(/error.*\S/)
      expect(await page.$$eval(".tl b.failed", (els) => els.length)).toBe(1)
      expect(await page.$$eval("#run-log .log-WARN", (els) => els.length)).toBeGreaterThan(0)
      expect(await page.$$eval("#run-log .log-ERROR", (els) => els.length)).toBeGreaterThan(0)
      await screenshot(page, "dashboard-failure.png")

      // `runs show` prints the same log
      const id = (await page.$eval("#run-id", (el) => el.textContent)) ?? ""
      const shown = await runCli(["runs", "show", id], { env: { ...env, HECATE_ENV_FILE: "/dev/null" } })
      expect(shown.code, shown.stderr).toBe(0)
      expect(shown.stdout).toMatch(/\nlog \(\d+ lines\)\n/)
      expect(shown.stdout).toMatch(/ WARN  \[[^\]]+\] /)
      expect(shown.stdout).toMatch(/ ERROR \[[^\]]+\] run failed: /)
      expect(shown.stdout).toMatch(/epoch \d+: failed/)
      expect(shown.stdout).not.toContain("s3cret-key")
      await page.close()
    } finally {
      running.child()?.kill("SIGTERM")
      await running.done.catch(() => undefined)
      await proxy.close()
      await failProxy.close()
      await sim.stop()
      await failSim.stop()
      for (const p of [prefix, historyPrefix, runsPrefix]) await deleteByPrefix(client, p)
      client.disconnect()
    }
  }, 180_000)

  it("backfill --distributed: the workers and the jobs each one runs; the workers' lines end up in the run's log", async () => {
    const t = await e2e()
    const q = await testQueue(t)
    const runsPrefix = newPrefix()
    const sim = await t.sim({ port: 0, network: "custom", epochLength: 200, activeSlotsCoefficient: 0.5, securityParameter: 10, meanBlockBytes: 4_096, initialBlocks: 2_000 })
    // the workers' Ogmios answers 1.5 s late: every job runs long enough to be seen running
    const slow = await startFaultProxy(sim.url)
    slow.arm({ kind: "delay", at: { frame: 1 }, repeat: "always", delayMs: 1_500 })
    const env = { ...t.env, ...q.env, HECATE_RUNS_PREFIX: runsPrefix }
    const workers = ["w1", "w2"].map((name) => startWorker(t, q, name, ["--endpoint", slow.url, "--concurrency", "1"], env))
    const running = startCli(["backfill", "--distributed", "--queue", q.name, "--endpoint", sim.url, "--redis-prefix", t.prefix, "--concurrency", "4", "--http-port", "0"], env)
    try {
      const base = await httpUrlOf(running)
      const page = await browserPage()
      expect((await page.goto(`${base}/`))?.status()).toBe(200)
      await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 })
      await until(page, `!document.getElementById("card-workers").hidden && /w1/.test(document.getElementById("workers").textContent) && /w2/.test(document.getElementById("workers").textContent)`, 60_000)
      // a running job names its worker, and that worker's row says which epoch it runs
      await until(page, `[...document.querySelectorAll("#jobs tr")].some((tr) => tr.children[1].textContent === "active" && /^w[12]$/.test(tr.children[2].textContent)) && /epoch \\d+/.test(document.getElementById("workers").textContent) && document.querySelectorAll(".ep.committed").length >= 2 && document.querySelectorAll(".ep.active").length >= 1`, 60_000)
      // the map's in-flight cells are the queue's running jobs, each on its worker
      const active = await page.$$eval(".ep.active", (els) => els.map((el) => el.getAttribute("title") ?? ""))
      for (const title of active) expect(title).toMatch(/^epoch \d+: in flight.*, on w[12]/)
      expect(await text(page, "#workers-queue")).toBe(`queue ${q.prefix}:${q.name}`)
      await screenshot(page, "dashboard-distributed.png")
      await page.close()
      const done = await running.done
      expect(done.code, done.stderr).toBe(0)
      const runs = JSON.parse((await runCli(["runs", "--json"], { env })).stdout) as Array<{ id: string; command: string; state: string }>
      const run = runs.find((r) => r.command === "backfill")!
      expect(run.state).toBe("Completed")
      const shown = await runCli(["runs", "show", run.id], { env })
      // lines of both the coordinator and the workers, each labelled with its process
      expect(shown.stdout).toMatch(/INFO  \[worker w[12]\] epoch \d+: \d+ blocks written in \d+ ms/)
      expect(shown.stdout).toMatch(/INFO  \[[^\]w][^\]]*\] epoch \d+: \d+ blocks synced by w[12]/)
    } finally {
      running.child()?.kill("SIGTERM")
      await running.done.catch(() => undefined)
      for (const w of workers) await stopWorker(w)
      await slow.close()
      await q.cleanup()
      await deleteByPrefix(t.redis, runsPrefix)
      await t.cleanup()
    }
  }, 180_000)
})
