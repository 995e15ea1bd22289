import { NodeServices } from "@effect/platform-node"
import { Effect, Fiber, Layer } from "effect"
import { Command } from "effect/cli"
import { afterEach, expect, it, vi } from "vitest"
import { parseEpochRange, simulateCommand } from "../../src/commands/simulate.js"
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
