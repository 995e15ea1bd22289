// `node dist/main.js refresh` as a user runs it (needs `npm run build`): a custom simulator network,
// idempotence, the refusal of an open epoch (exit 17), and --commit with and without a git repository.
import { execFileSync } from "node:child_process"
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { runCli } from "../support/cli.js"
import { expectedLastFinal, expectedRow, SHORT_EPOCHS, shippedText, simulator, tempDir, textOf, truncatedCsvCopy } from "./support.js"

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() => runCli(["refresh", ...args], { env: { HECATE_ENV_FILE: "/dev/null", ...env }, timeoutMs: 90_000 }))

const GIT_ENV = {
  GIT_AUTHOR_NAME: "Hecate Test",
  GIT_AUTHOR_EMAIL: "test@hecate.invalid",
  GIT_COMMITTER_NAME: "Hecate Test",
  GIT_COMMITTER_EMAIL: "test@hecate.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null"
}
const git = (cwd: string, ...args: Array<string>) =>
  execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...GIT_ENV } }).trim()

describe("hecate refresh (CLI)", () => {
  it.live("custom network: records the final epochs, is idempotent, refuses the open epoch with exit 17", () =>
    Effect.gen(function*() {
      const sim = yield* simulator(SHORT_EPOCHS)
      const dir = yield* tempDir()
      const cache = join(dir, "cache.json")
      const env = { HECATE_EPOCH_CACHE: cache }
      const lastFinal = expectedLastFinal(sim, 20)

      const first = yield* cli(["--endpoint", sim.url], env)
      expect(first.stderr).not.toContain("Error")
      expect(first.code).toBe(0)
      expect(first.stdout).toContain(`recorded final epochs 0–${lastFinal}`)
      const cached = JSON.parse(yield* textOf(cache)) as { networks: Record<string, Record<string, { boundary: Record<string, unknown>; blocks: number }>> }
      const rows = Object.values(cached.networks)[0]!
      expect(Object.keys(rows).map(Number)).toEqual(Array.from({ length: lastFinal + 1 }, (_, e) => e))
      for (let e = 0; e <= lastFinal; e++) {
        const want = expectedRow(sim, e)
        expect(rows[String(e)]).toEqual({
          boundary: {
            number: e,
            start_slot: want.startSlot,
            end_slot: want.endSlot,
            start_height: want.startHeight,
            end_height: want.endHeight,
            start_hash: want.startHash,
            end_hash: want.endHash
          },
          blocks: want.blocks
        })
      }

      const text = yield* textOf(cache)
      const second = yield* cli(["--endpoint", sim.url], env)
      expect(second.code).toBe(0)
      expect(second.stdout).toContain("nothing new")
      expect(yield* textOf(cache)).toBe(text)

      const tipEpoch = sim.chain.currentEpoch()
      const refused = yield* cli(["--endpoint", sim.url, "--until-epoch", String(tipEpoch)], env)
      expect(refused.code).toBe(17)
      expect(refused.stdout).toContain(`Refresh incomplete: epoch ${lastFinal + 1} is not final`)
      expect(yield* textOf(cache)).toBe(text)
    }), 120_000)

  it.live("--commit without a repository says so and exits 0; the CSVs are extended (mainnet-shaped)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      yield* truncatedCsvCopy(dir, 642)
      const sim = yield* simulator({ network: "mainnet-shaped", epochs: { from: 643, to: 643 }, nextEpochBlocks: 2200, meanBlockBytes: 300 })
      const result = yield* cli(["--endpoint", sim.url, "--data-dir", dir, "--commit"], { GIT_CEILING_DIRECTORIES: dir })
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("refresh mainnet: recorded final epoch 643 (21224 blocks")
      expect(result.stdout).toContain("is not in a git repository; the data files were updated but not committed")
      expect(yield* textOf(join(dir, "epoch_boundaries.csv"))).toBe(yield* shippedText("epoch_boundaries.csv"))
      expect(yield* textOf(join(dir, "epoch_blocks.csv"))).toBe(yield* shippedText("epoch_blocks.csv"))
    }), 120_000)

  it.live("--commit in a git repository commits the CSVs with a message naming the epoch and pushes to the upstream", () =>
    Effect.gen(function*() {
      const root = yield* tempDir()
      const remote = join(root, "remote.git")
      const repo = join(root, "work")
      git(root, "init", "-q", "--bare", "-b", "main", remote)
      git(root, "clone", "-q", remote, repo)
      git(repo, "checkout", "-q", "-b", "main")
      const data = join(repo, "data")
      yield* Effect.promise(() => mkdir(data))
      yield* truncatedCsvCopy(data, 642)
      git(repo, "add", "data")
      git(repo, "commit", "-q", "-m", "epoch data up to 642")
      git(repo, "push", "-q", "-u", "origin", "main")
      const before = git(repo, "rev-parse", "HEAD")

      const sim = yield* simulator({ network: "mainnet-shaped", epochs: { from: 643, to: 643 }, nextEpochBlocks: 2200, meanBlockBytes: 300 })
      const cache = join(root, "cache.json") // outside the repository
      const result = yield* cli(["--endpoint", sim.url, "--data-dir", data, "--commit"], { ...GIT_ENV, HECATE_EPOCH_CACHE: cache })
      expect(result.stderr).not.toContain("failed")
      expect(result.code).toBe(0)
      expect(result.stdout).toContain("--commit: committed")
      expect(result.stdout).toContain("pushed to origin/main")

      const head = git(repo, "rev-parse", "HEAD")
      expect(head).not.toBe(before)
      expect(git(repo, "log", "-1", "--format=%s")).toBe("epoch data: mainnet epoch 643 (hecate refresh, derived from the chain)")
      expect(git(repo, "show", "--name-only", "--format=", "HEAD").split("\n").sort()).toEqual(["data/epoch_blocks.csv", "data/epoch_boundaries.csv"])
      expect(git(repo, "status", "--porcelain")).toBe("")
      expect(git(remote, "rev-parse", "main")).toBe(head)
      expect(git(repo, "show", "HEAD:data/epoch_blocks.csv").endsWith("643,21224")).toBe(true)

      // a second run: nothing new, no commit
      const again = yield* cli(["--endpoint", sim.url, "--data-dir", data, "--commit"], { ...GIT_ENV, HECATE_EPOCH_CACHE: cache })
      expect(again.code).toBe(0)
      expect(again.stdout).toContain("nothing new")
      expect(again.stdout).toContain("nothing to commit")
      expect(git(repo, "rev-parse", "HEAD")).toBe(head)
    }), 120_000)
})
