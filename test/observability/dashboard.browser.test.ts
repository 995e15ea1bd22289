// The dashboard in a real headless Chromium (Debian's chromium + playwright-core): `serve` follows a
// simulator producing blocks; the page loads, its numbers change as blocks arrive, the chart
// draws, the relay run is listed; a screenshot is saved to test-artifacts/dashboard.png.
// Chromium is required: without it the test FAILS and says how to install it.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Redis as IORedis } from "ioredis"
import { chromium } from "playwright-core"
import { describe, expect, it } from "vitest"
import { startSimulator } from "../../src/simulator/index.js"
import { deleteByPrefix, TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { newPrefix } from "../relay/harness.js"
import { httpUrlOf, startCli } from "./support.js"

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const artifacts = fileURLToPath(new URL("../../test-artifacts/", import.meta.url))

describe("dashboard in headless Chromium", () => {
  it("loads, shows live numbers that change as the simulator produces blocks, and is screenshotted", async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH`)
    }
    const sim = await startSimulator({ port: 0, network: "custom", securityParameter: 20, initialBlocks: 300, meanBlockBytes: 1024, blockIntervalMs: 150, forkRate: 0.15, maxRollback: 4 })
    const prefix = newPrefix()
    const runsPrefix = newPrefix()
    const client = new IORedis(TEST_REDIS_URL)
    const dir = mkdtempSync(join(tmpdir(), "hecate-dash-"))
    writeFileSync(join(dir, "hecate.config.json"), "{}")
    const running = startCli(["serve", "--relay-start", "origin", "--no-refresh", "--http-port", "0"], {
      HECATE_CONFIG: join(dir, "hecate.config.json"),
      REDIS_URL: TEST_REDIS_URL,
      OGMIOS_ENDPOINTS: JSON.stringify([sim.url]),
      HECATE_RELAY_PREFIX: prefix,
      HECATE_RUNS_PREFIX: runsPrefix
    })
    const profile = join(dir, "chromium-profile")
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined
    try {
      const base = await httpUrlOf(running)
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 900 },
        args: [
          "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync"
        ]
      })
      const page = context.pages()[0] ?? (await context.newPage())
      const response = await page.goto(`${base}/`)
      expect(response?.status()).toBe(200)
      expect(await page.title()).toBe("Hecate")
      await page.waitForSelector("body[data-loaded=true]", { timeout: 20_000 })

      const read = async () => ({
        height: await page.textContent("#height"),
        blocks: await page.textContent("#blocks"),
        status: await page.textContent("#status")
      })
      const first = await read()
      // the numbers move as the simulator produces blocks
      // (page functions as strings: the test compiles without the DOM lib)
      await page.waitForFunction(`(() => { const now = document.getElementById("height")?.textContent; return !!now && now !== "–" && now !== ${JSON.stringify(first.height)} })()`, undefined, { timeout: 20_000 })
      const second = await read()
      expect(second.height).not.toBe(first.height)
      expect(second.height).toMatch(/^#[\d,]+$/)
      expect(second.blocks).toMatch(/^[\d,]+ blocks/)
      expect(["ok", "catching-up"]).toContain(second.status)
      // the tip distance is a number, the chart is drawn, the relay run is listed
      await page.waitForFunction(`/^\\d[\\d,]* blocks$/.test(document.getElementById("tip-blocks")?.textContent ?? "")`, undefined, { timeout: 20_000 })
      await page.waitForSelector("#chart-line", { timeout: 20_000 })
      await page.waitForFunction(`/relay/.test(document.getElementById("runs")?.textContent ?? "")`, undefined, { timeout: 20_000 })
      // a rollback shows up once the simulator forks
      await page.waitForFunction(`(document.getElementById("rollbacks")?.children.length ?? 0) > 0`, undefined, { timeout: 30_000 })

      mkdirSync(artifacts, { recursive: true })
      const shot = join(artifacts, "dashboard.png")
      rmSync(shot, { force: true })
      await page.screenshot({ path: shot, fullPage: true })
      expect(statSync(shot).size).toBeGreaterThan(10_000)
    } finally {
      await context?.close()
      running.child()?.kill("SIGTERM")
      await running.done.catch(() => undefined)
      await sim.stop()
      await deleteByPrefix(client, prefix)
      await deleteByPrefix(client, runsPrefix)
      client.disconnect()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
