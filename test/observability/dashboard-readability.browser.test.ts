// The dashboard as an operator reads it, in a real headless Chromium, fed a fixed /api/state (the
// page is the served DASHBOARD_HTML, unchanged): a blocks/s history with a catch-up spike two
// orders of magnitude above the live rate, a relay with no consumer group, runs of two prefixes
// and a refresh due tomorrow. Checked: the live rate stays readable (the y range is the recent
// window's, the spike is clipped and its peak named), every chart label lies inside its chart, the
// relay card says "no consumer groups" (not "lag 0"), the runs table has a prefix column, and the
// next refresh carries its date. Screenshot: test-artifacts/dashboard-readability.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type BrowserContext, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DASHBOARD_HTML } from "../../src/observability/dashboard.js"

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const artifacts = fileURLToPath(new URL("../../test-artifacts/", import.meta.url))

const NOW = Date.parse("2026-03-04T10:20:30.000Z")
const LIVE = 4.2
const SPIKE = 2_600

/** 150 one-second samples: 20 s idle, 40 s of catch-up at ~2,600 blocks/s, then the live rate. */
const throughput = Array.from({ length: 150 }, (_, i) => {
  const t = NOW - (149 - i) * 1000
  const blocksPerSecond = i < 20 ? 0 : i < 60 ? SPIKE - (i % 7) * 40 : LIVE + (i % 5) * 0.6
  return { t, blocksPerSecond, blocks: i * 10, tipBlocks: i < 60 ? 5_000 - i * 80 : 1 + (i % 3) }
})

const run = (id: string, prefix: string | undefined, minutesAgo: number) => ({
  id, command: prefix === undefined ? "refresh" : "backfill", prefix, parameters: {}, state: "Completed", shownState: "Completed",
  startedAt: new Date(NOW - minutesAgo * 60_000).toISOString(), endedAt: new Date(NOW - minutesAgo * 60_000 + 5_000).toISOString(),
  heartbeatAt: undefined, blocks: 100, error: undefined, host: "h", pid: 1
})

const state = {
  now: new Date(NOW).toISOString(),
  commands: ["serve"],
  health: { status: "ok", code: 200, reasons: [] },
  tipDistance: { blocks: 2, slots: 40, max: 5 },
  blocksPerSecond: LIVE,
  blocks: 1_500,
  bytes: 1_048_576,
  throughput,
  relay: { height: 12_345, connection: "following", writes: 800, consumerGroups: 0, reconnects: 0 },
  epochs: { done: 0, failed: 0, retried: 0, active: [], map: [], blocks: 0 },
  overview: {
    relay: {
      prefix: "hecate:relay:", state: "following", since: new Date(NOW - 60_000).toISOString(), endpoint: "ws://n:1337", lastReconnectCause: undefined,
      streams: [{ stream: "events", length: 900, groups: [] }, { stream: "final", length: 700, groups: [] }],
      counters: {}, height: 12_345, tipHeight: 12_347, tipDistance: 2
    },
    redis: { reachable: true, version: "7.0.15", pingMs: 1, usedMemory: "2M", clients: 3 }
  },
  rollbackDepths: [],
  reconnectLog: [],
  refresh: {
    enabled: true, trigger: "cron 0 0 * * *", running: false, lastStartedAt: new Date(NOW - 3 * 3_600_000).toISOString(),
    nextRunAt: new Date(NOW + 27 * 3_600_000).toISOString(), lastResult: "nothing new", runs: 1, succeeded: 1, failed: 0, skipped: 0
  },
  rollbacksTotal: 0,
  rollbacks: [],
  paused: { now: false, seconds: 0 },
  runs: [run("r-2", "hecate:relay:", 1), run("r-1", "hecate:history:", 30), run("r-0", undefined, 180)]
}

let server: Server
let base = ""
let context: BrowserContext | undefined
let profileDir = ""
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith("/api/state")) res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(state))
    else if (req.url === "/") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(DASHBOARD_HTML)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  profileDir = mkdtempSync(join(tmpdir(), "hecate-dash-read-"))
})
afterAll(async () => {
  await context?.close()
  server.close()
  rmSync(profileDir, { recursive: true, force: true })
})

interface ChartGeometry {
  readonly width: number
  readonly height: number
  readonly texts: ReadonlyArray<{ readonly cls: string; readonly text: string; readonly left: number; readonly right: number; readonly top: number; readonly bottom: number }>
  readonly yTop: number
  /** the plot's top and bottom (the y ticks' lines) and the last point's y */
  readonly plotTop: number
  readonly plotBottom: number
  readonly lastY: number
}

describe("dashboard readability (headless Chromium)", () => {
  it("the live rate stays readable after a catch-up spike, labels stay inside the charts, no made-up consumer lag, prefixes and dated refreshes", async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH`)
    }
    context = await chromium.launchPersistentContext(join(profileDir, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1366, height: 860 },
      timezoneId: "UTC",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    })
    const page = await context.newPage()
    await page.goto(base)
    await page.waitForFunction(`document.body.dataset.loaded === "true"`, undefined, { timeout: 30_000 })

    const geometry = (id: string) => page.evaluate(`(() => {
      const svg = document.getElementById(${JSON.stringify(id)}), box = svg.getBoundingClientRect();
      const texts = [...svg.querySelectorAll("text")].map((t) => { const r = t.getBoundingClientRect();
        return { cls: t.getAttribute("class") ?? "", text: t.textContent, left: r.left - box.left, right: r.right - box.left, top: r.top - box.top, bottom: r.bottom - box.top }; });
      const ys = [...svg.querySelectorAll("line")].filter((l) => l.getAttribute("x1") !== l.getAttribute("x2")).map((l) => Number(l.getAttribute("y1")));
      const pts = svg.querySelector("polyline.chart-line").getAttribute("points").trim().split(" ");
      const ticks = [...svg.querySelectorAll("text.y-tick")].map((t) => Number(t.textContent.replace(/,/g, "")));
      return { width: box.width, height: box.height, texts, yTop: Math.max(...ticks), plotTop: Math.min(...ys.filter((y) => y > 0 && y < box.height && !Number.isNaN(y))), plotBottom: Math.max(...ys), lastY: Number(pts[pts.length - 1].split(",")[1]) };
    })()`) as Promise<ChartGeometry>

    for (const id of ["chart", "tip-chart"]) {
      const g = await geometry(id)
      expect(g.texts.length).toBeGreaterThan(3)
      for (const t of g.texts) {
        // every label, the last time tick included, lies inside its chart
        expect(t.left, `${id}: "${t.text}" starts inside`).toBeGreaterThanOrEqual(-0.5)
        expect(t.right, `${id}: "${t.text}" ends inside (width ${g.width})`).toBeLessThanOrEqual(g.width + 0.5)
        expect(t.top).toBeGreaterThanOrEqual(-0.5)
        expect(t.bottom).toBeLessThanOrEqual(g.height + 0.5)
      }
      // no two labels over each other
      for (const [i, a] of g.texts.entries()) {
        for (const b of g.texts.slice(i + 1)) {
          const overlap = a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5
          expect(overlap, `${id}: "${a.text}" and "${b.text}" overlap`).toBe(false)
        }
      }
      expect(g.texts.filter((t) => t.cls === "x-tick").length).toBeGreaterThanOrEqual(2)
    }

    // blocks/s: the y range is the live rate's, not the spike's; the live rate uses a good part of
    // the plot's height, and the spike is clipped with its peak named
    const rate = await geometry("chart")
    expect(rate.yTop).toBeLessThan(SPIKE / 10)
    expect(rate.yTop).toBeGreaterThanOrEqual(LIVE)
    expect((rate.plotBottom - rate.lastY) / (rate.plotBottom - rate.plotTop)).toBeGreaterThan(0.3)
    const clip = rate.texts.find((t) => t.cls === "chart-clip")
    expect(clip?.text).toMatch(/^▲ peak 2,600 blocks\/s at \d\d:\d\d:\d\d \(off the scale\)$/)
    expect(await page.locator("#chart line.clip-mark").count()).toBeGreaterThan(0)

    // the relay card: no consumer group reads the relay, so no lag is claimed
    const relay = (await page.textContent("#relay-sub")) ?? ""
    expect(relay).toContain("no consumer groups")
    expect(relay).not.toContain("lag")

    // runs: a prefix column
    const header = await page.locator("#runs").locator("xpath=..").locator("th").allTextContents()
    expect(header.slice(0, 4)).toEqual(["id", "command", "prefix", "state"])
    const prefixes = await page.locator("#runs tr td:nth-child(3)").allTextContents()
    expect(prefixes).toEqual(["hecate:relay:", "hecate:history:", "–"])

    // the refresh: a next run that is not today's carries its date and how long until then
    const refresh = (await page.textContent("#refresh")) ?? ""
    expect(refresh).toContain("next run2026-03-05 13:20:30 (in 1 d 3 h)")
    expect(refresh).toContain("last run07:20:30 (3h 00m ago)")

    mkdirSync(artifacts, { recursive: true })
    const shot = join(artifacts, "dashboard-readability.png")
    rmSync(shot, { force: true })
    await page.screenshot({ path: shot, fullPage: true })
    expect(statSync(shot).size).toBeGreaterThan(10_000)
  }, 90_000)
})
