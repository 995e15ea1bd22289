/**
 * `serve` as one library program: the run history, then the supervisor of the relay, the refresh
 * and HTTP (src/serve/components.ts declares each one's restart policy). Runs until interrupted
 * (SIGTERM) or until a component escalates, with that component's error.
 */
import { Effect } from "effect"
import { makeLazy } from "../layers/RedisLive.js"
import { makeRunHistory, Telemetry } from "../observability/index.js"
import { httpComponent, makeServeRefreshScheduler, refreshComponent, relayComponent } from "./components.js"
import { OgmiosConnector } from "../services/OgmiosConnector.js"
import type { ServeOptions } from "./options.js"
import { supervise } from "./supervisor.js"

export const serve = (options: ServeOptions) =>
  Effect.gen(function*() {
    const { settings } = options
    // the run history must not stop serve: a lazy connection, so a Redis that is down at start or
    // goes away only delays the records, which the recorders write once it is back
    const runsRedis = yield* makeLazy({ url: settings.redisUrl, connectionName: "hecate-runs" })
    const runs = makeRunHistory(runsRedis, { prefix: settings.runsPrefix, keep: settings.runsKeep })
    const telemetry = yield* Telemetry
    yield* telemetry.command("serve")
    const env = { runs, live: telemetry.live, connector: yield* OgmiosConnector }

    const scheduler = yield* makeServeRefreshScheduler(options, env)
    const relay = relayComponent(options, env)
    const refresh = options.refresh
      ? `${(yield* scheduler.status).trigger}${options.refreshCluster ? " (once per tick across instances)" : ""}`
      : "off"
    yield* Effect.logInfo(
      `serve: relay ${settings.relayPrefix} from ${settings.ogmiosEndpoints.join(", ")} (run ${relay.recorder.id}); refresh ${refresh}`
    )
    return yield* supervise([
      relay.component,
      ...(options.refresh ? [refreshComponent(options, env, scheduler)] : []),
      ...(options.http ? [httpComponent(options, env, scheduler)] : [])
    ])
  })
