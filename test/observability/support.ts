/**
 * Helpers for the observability tests: a long-running CLI child whose output is watched, the
 * bound HTTP address parsed from its log, and a Prometheus text parser.
 */
import type { ChildProcess } from "node:child_process"
import { type CliResult, runCli } from "../support/cli.js"
import { waitFor } from "../relay/harness.js"

export interface Running {
  readonly child: () => ChildProcess
  readonly output: () => string
  readonly done: Promise<CliResult>
}

export const startCli = (args: ReadonlyArray<string>, env: Record<string, string>, timeoutMs = 120_000): Running => {
  let child: ChildProcess | undefined
  let output = ""
  const done = runCli(args, {
    env: { HECATE_ENV_FILE: "/dev/null", ...env },
    timeoutMs,
    onSpawn: (c) => {
      child = c
      c.stdout?.on("data", (d) => (output += d))
      c.stderr?.on("data", (d) => (output += d))
    }
  })
  return { child: () => child!, output: () => output, done }
}

/** The base URL the command logged (`http: http://127.0.0.1:PORT` or `serve: http://…`). */
export const httpUrlOf = async (running: Running, timeoutMs = 30_000): Promise<string> => {
  let url = ""
  await waitFor("the HTTP server to listen", () => {
    const m = /(?:http|serve): (http:\/\/127\.0\.0\.1:\d+)/.exec(running.output())
    if (m) url = m[1]!
    if (running.child()?.exitCode !== null && running.child()?.exitCode !== undefined && url === "") {
      throw new Error(`the command exited before listening:\n${running.output()}`)
    }
    return url !== ""
  }, timeoutMs)
  return url
}

/** Prometheus text → series (`name{a="b"}` exactly as printed) → value. */
export const parseProm = (text: string): Map<string, number> => {
  const out = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const i = line.lastIndexOf(" ")
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}

export const scrape = async (base: string): Promise<Map<string, number>> => parseProm(await (await fetch(`${base}/metrics`)).text())

/** A series value, 0 when absent. */
export const value = (m: Map<string, number>, series: string): number => m.get(series) ?? 0
