/**
 * The program of `hecate consume` (docs/consumer.md), on the run's settings: one of
 * - register the group, then end (`registerOnly`): in the history's registry and on
 *   `events`/`final` at 0, so the producers keep what it has not read;
 * - remove the group, then end (`unregister`): a group nobody reads holds back the producers;
 * - print the chain through the group (./print.ts).
 * It opens its own Redis connection (`hecate-consume`) from the settings' REDIS_URL.
 */
import { hostname } from "node:os"
import { Console, Effect } from "effect"
import { RedisLive } from "../layers/RedisLive.js"
import { HecateConfig, InvalidConfiguration } from "../services/HecateConfig.js"
import { Redis } from "../services/Redis.js"
import { registerGroup } from "./consume.js"
import { consumerCall } from "./errors.js"
import type { LineFormat } from "./lines.js"
import { consumerLog, printChain } from "./print.js"
import { unregisterGroup } from "./unregister.js"

export const CHAIN_SOURCES = ["both", "history", "relay"] as const
/** both: the epoch streams then the relay (sync/serve); history: a backfill only; relay: a relay only */
export type ChainSource = (typeof CHAIN_SOURCES)[number]

export interface ConsumeRun {
  readonly group: string
  /** default: the host name */
  readonly consumer?: string | undefined
  readonly format: LineFormat
  readonly source: ChainSource
  /** default: the settings' HECATE_RELAY_PREFIX */
  readonly relayPrefix?: string | undefined
  /** default: the settings' HECATE_HISTORY_PREFIX */
  readonly historyPrefix?: string | undefined
  readonly max?: number | undefined
  /** a file to append the jsonl lines to instead of stdout */
  readonly out?: string | undefined
  readonly acceptGap: boolean
  readonly fromAvailable: boolean
  readonly inFlight: number
  readonly claimIdleMs: number
  readonly registerOnly: boolean
  readonly unregister: boolean
  /** whether the reader of stdout is known to have gone away (the CLI's watch of its output) */
  readonly readerGone?: () => boolean
}

export const consumeProgram = (run: ConsumeRun) =>
  Effect.gen(function*() {
    const settings = yield* HecateConfig
    if (run.acceptGap && run.out === undefined) {
      return yield* new InvalidConfiguration({ variable: "--accept-gap", message: "--accept-gap applies to --out FILE only (a file that lost lines): add --out FILE, or drop --accept-gap — e.g. --out blocks.jsonl --accept-gap" })
    }
    if (run.out !== undefined && run.format === "cli") {
      return yield* new InvalidConfiguration({ variable: "--out", message: "--out writes jsonl lines (its exactly-once resume reads them back): drop --sink cli" })
    }
    const history = run.source === "relay" ? undefined : run.historyPrefix ?? settings.historyPrefix
    const relay = run.source === "history" ? undefined : run.relayPrefix ?? settings.relayPrefix
    const group = run.group
    return yield* Effect.gen(function*() {
      if (run.unregister) {
        if (run.registerOnly) return yield* new InvalidConfiguration({ variable: "--unregister", message: "--unregister and --register-only exclude each other: give one" })
        const done = yield* consumerCall(yield* Redis, (client) => unregisterGroup(client, { history, relay, group }))
        yield* Console.error(
          `consume: unregistered group ${group}: removed from ${done.streams} stream${done.streams === 1 ? "" : "s"}` +
            `${history === undefined ? "" : `${done.registered ? " and" : ","} ${done.registered ? "from" : "not in"} the registry of ${history}`}` +
            ` — it no longer holds back the producers; reading it again starts it over`
        )
        return
      }
      if (run.registerOnly) {
        const log = yield* consumerLog
        yield* consumerCall(yield* Redis, (client) => registerGroup({ redis: client, history, relay, group, fromAvailable: run.fromAvailable, log }))
        yield* Effect.logInfo(`registered group ${group}${history === undefined ? "" : ` for ${history}`}${relay === undefined ? "" : ` and ${relay}`}`)
        return
      }
      yield* printChain({
        history,
        relay,
        group,
        consumer: run.consumer ?? hostname(),
        format: run.format,
        inFlight: run.inFlight,
        claimIdleMs: run.claimIdleMs,
        fromAvailable: run.fromAvailable,
        max: run.max,
        progressIntervalMs: settings.progressIntervalMs,
        out: run.out === undefined ? undefined : { path: run.out, acceptGap: run.acceptGap },
        ...(run.readerGone === undefined ? {} : { readerGone: run.readerGone })
      })
    }).pipe(Effect.provide(RedisLive.layer({ url: settings.redisUrl, connectionName: "hecate-consume" })))
  })
