import { NodeServices } from "@effect/platform-node"
import { Effect, Fiber, Layer, Option } from "effect"
import fc from "fast-check"
import { Command } from "effect/cli"
import { afterEach, expect, it, vi } from "vitest"
import { simulateCommand } from "../../src/commands/simulate.js"
import { networkOptions, parseEpochRange } from "../../src/simulator/network-options.js"
import { Chain } from "../../src/simulator/chain.js"
import { propertyRuns } from "../../src/testing/index.js"
import { Simulator } from "../../src/simulator/index.js"

afterEach(() => vi.restoreAllMocks())

it("simulate prints the URL and the chain's shape, serves until interrupted, then stops", async () => {
  const lines: Array<string> = []
  vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => void lines.push(args.join(" ")))
  const run = Command.runWith(simulateCommand, { version: "test" })
  const fiber = Effect.runFork(
    run(["--port", "0", "--network", "mainnet-shaped", "--epochs", "600..601", "--block-interval", "0", "--mean-block-bytes", "2000"]).pipe(
      Effect.provide(NodeServices.layer)
    )
  )
  const deadline = Date.now() + 20_000
  while (!lines.some((l) => l.startsWith("tip:")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const url = /listening on (ws:\/\/[\d.]+:(\d+))/.exec(lines.join("\n"))
  expect(url).not.toBeNull()
  expect(lines.join("\n")).toMatch(/epochs 599\.\.602 \(599:1 600:\d+ 601:\d+ 602:20\)/)
  const health = await fetch(`http://127.0.0.1:${url![2]}/health`)
  expect(((await health.json()) as { currentEpoch: number }).currentEpoch).toBe(602)
  await Effect.runPromise(Fiber.interrupt(fiber))
  await expect(fetch(`http://127.0.0.1:${url![2]}/health`)).rejects.toThrow()
}, 60_000)

it("simulate --era byron serves a Byron chain with EBBs", async () => {
  const lines: Array<string> = []
  vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => void lines.push(args.join(" ")))
  const run = Command.runWith(simulateCommand, { version: "test" })
  const fiber = Effect.runFork(
    run(["--port", "0", "--era", "byron", "--epoch-length", "100", "--initial-blocks", "100", "--block-interval", "0", "--mean-block-bytes", "1000"]).pipe(
      Effect.provide(NodeServices.layer)
    )
  )
  const deadline = Date.now() + 20_000
  while (!lines.some((l) => l.startsWith("tip:")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const text = lines.join("\n")
  expect(text).toMatch(/epochLength=100, slotLength=20000ms/)
  expect(text).toMatch(/\(era byron\)/)
  // 100 blocks of which some are EBBs: the tip height is below 99
  const height = Number(/tip: slot \d+ height (\d+)/.exec(text)![1])
  expect(height).toBeLessThan(99)
  await Effect.runPromise(Fiber.interrupt(fiber))
}, 60_000)

it("parses epoch ranges", () => {
  expect(parseEpochRange("507..510")).toEqual({ from: 507, to: 510 })
  expect(parseEpochRange("507")).toEqual({ from: 507, to: 507 })
  expect(parseEpochRange("510..507")).toBeUndefined()
  expect(parseEpochRange("x")).toBeUndefined()
})

it("Simulator.layer starts the simulator for the layer's lifetime", async () => {
  const program = Effect.gen(function* () {
    const sim = yield* Simulator
    sim.forge(3)
    const res = yield* Effect.promise(() => fetch(`${sim.httpUrl}/health`))
    return { status: res.status, length: sim.chain.length, httpUrl: sim.httpUrl }
  })
  const out = await Effect.runPromise(program.pipe(Effect.provide(Simulator.layer({ port: 0, initialBlocks: 10 }))))
  expect(out).toMatchObject({ status: 200, length: 13 })
  await expect(fetch(`${out.httpUrl}/health`)).rejects.toThrow()
})

const flags = (over: Partial<Parameters<typeof networkOptions>[0]> = {}): Parameters<typeof networkOptions>[0] => ({
  network: "custom",
  epochs: Option.none(),
  era: Option.none(),
  epochLength: Option.none(),
  slotLength: Option.none(),
  k: Option.none(),
  maxRollback: Option.none(),
  ...over
})

it("flags of the other network kind are refused, not ignored", () => {
  expect(networkOptions(flags({ epochs: Option.some("208..209") }))).toMatchObject({ variable: "--epochs", message: expect.stringContaining("mainnet-shaped only") })
  for (const [flag, over] of [
    ["--era", { era: Option.some("byron" as const) }],
    ["--epoch-length", { epochLength: Option.some(400) }],
    ["--slot-length", { slotLength: Option.some(1000) }],
    ["--k", { k: Option.some(20) }]
  ] as const) {
    expect(networkOptions(flags({ network: "mainnet-shaped", ...over }))).toMatchObject({ variable: flag, message: expect.stringContaining("custom only") })
  }
  expect(networkOptions(flags({ network: "mainnet-shaped" }))).toEqual({ network: "mainnet-shaped", epochs: { from: 507, to: 507 }, maxRollback: 10 })
  // a mainnet-shaped chain's k is mainnet's 2160, so a rollback deeper than 100 is fine
  expect(networkOptions(flags({ network: "mainnet-shaped", maxRollback: Option.some(500) }))).toMatchObject({ network: "mainnet-shaped" })
})

it("a custom Byron network's epoch is 10·k slots: any combination of --epoch-length and --k either fits the rule or is refused naming it", () => {
  fc.assert(
    fc.property(fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }), fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }), (epochLength, k) => {
      const out = networkOptions(flags({ era: Option.some("byron"), epochLength: Option.fromUndefinedOr(epochLength), k: Option.fromUndefinedOr(k), maxRollback: Option.some(1) }))
      if ("variable" in out) {
        expect(out.variable).toBe("--epoch-length")
        expect(out.message).toContain("a Byron epoch is 10·k slots")
        // the value to use fits the rule
        const suggested = Number(/--epoch-length (\d+)/.exec(out.message.slice(out.message.indexOf("use")))![1])
        expect(suggested % 10).toBe(0)
        if (k !== undefined) expect(suggested).toBe(10 * k)
        // refused only when the rule is broken
        expect(k !== undefined && epochLength !== undefined ? epochLength !== 10 * k : epochLength! % 10 !== 0).toBe(true)
      } else {
        expect(out.epochLength).toBe(10 * out.securityParameter!)
        if (epochLength !== undefined) expect(out.epochLength).toBe(epochLength)
        if (k !== undefined) expect(out.securityParameter).toBe(k)
      }
    }),
    { numRuns: propertyRuns(300) }
  )
  expect(networkOptions(flags({ era: Option.some("byron"), epochLength: Option.some(7) }))).toMatchObject({ variable: "--epoch-length", message: expect.stringContaining("e.g. --epoch-length 1000") })
  expect(networkOptions(flags({ era: Option.some("byron"), epochLength: Option.some(200), k: Option.some(20) }))).toEqual({ network: "custom", era: "byron", epochLength: 200, securityParameter: 20, maxRollback: 10 })
  expect(networkOptions(flags({ era: Option.some("byron") }))).toEqual({ network: "custom", era: "byron", epochLength: 1000, securityParameter: 100, maxRollback: 10 })
  // other eras keep any epoch length (10k/f by default)
  expect(networkOptions(flags({ epochLength: Option.some(7) }))).toEqual({ network: "custom", era: "conway", epochLength: 7, securityParameter: 100, maxRollback: 10 })
})

it("--max-rollback defaults to 10, or to k when k is smaller; one given deeper than k is refused", () => {
  expect(networkOptions(flags({ era: Option.some("byron"), k: Option.some(5) }))).toMatchObject({ securityParameter: 5, maxRollback: 5 })
  expect(networkOptions(flags({ k: Option.some(3) }))).toMatchObject({ securityParameter: 3, maxRollback: 3 })
  expect(networkOptions(flags({ k: Option.some(50) }))).toMatchObject({ maxRollback: 10 })
  expect(networkOptions(flags({ k: Option.some(5), maxRollback: Option.some(6) }))).toMatchObject({ variable: "--max-rollback", message: expect.stringContaining("deeper than --k 5") })
})

it("a Byron chain laid out by the rule has an EBB opening every epoch, none skipped", () => {
  const options = networkOptions(flags({ era: Option.some("byron"), k: Option.some(3), maxRollback: Option.some(1) }))
  if ("variable" in options) throw new Error(options.message)
  const chain = new Chain({ ...options, initialBlocks: 400, meanBlockBytes: 500 })
  const ebbEpochs = Array.from({ length: chain.length }, (_, i) => i).filter((i) => chain.isEbb(i)).map((i) => chain.slotAt(i) / options.epochLength!)
  expect(ebbEpochs).toEqual(Array.from({ length: ebbEpochs.length }, (_, e) => e))
  expect(ebbEpochs.length).toBeGreaterThan(5)
})
