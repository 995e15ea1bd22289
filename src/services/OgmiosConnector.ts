/**
 * How this run connects to Ogmios: the one place the connection options are assembled from the
 * settings — OGMIOS_ENDPOINTS (or `--endpoint`), HECATE_REQUEST_TIMEOUT_MS (every request, the
 * WebSocket handshake, and a chain-sync session that gets no reply for that long),
 * HECATE_RECONNECT_MAX_DELAY_MS (the cap of the reconnect backoff) and HECATE_IN_FLIGHT — so
 * every command and every library pipeline honours them alike. Commands get it from their
 * composition root (src/cli/command.ts); library code (`syncThenRelay`, the refresh job, the
 * backfill's per-epoch sessions) takes it from its context instead of building connections itself.
 */
import { Context, Duration, Effect, Layer } from "effect"
import { OgmiosLive, type OgmiosLiveOptions } from "../layers/OgmiosLive.js"
import type { OgmiosError } from "../ogmios/errors.js"
import type { ReconnectOptions } from "../ogmios/follower.js"
import { defaults, HecateConfig, type HecateSettings } from "./HecateConfig.js"
import type { Ogmios } from "./Ogmios.js"

/**
 * How a pipeline treats a lost Ogmios connection: `bounded` gives up after a few consecutive failed
 * reconnects (the backfill, the worker and the refresh retry the whole epoch or run themselves);
 * `forever` never gives up (the relay follows the tip for as long as it runs).
 */
export type ReconnectPolicy = "bounded" | "forever"

/** Consecutive failed reconnects before a `bounded` pipeline gives the epoch / run back to its retry. */
export const BOUNDED_RECONNECT_ATTEMPTS = 3
/** First reconnect delay (the backoff doubles up to HECATE_RECONNECT_MAX_DELAY_MS). */
export const INITIAL_RECONNECT_DELAY_MS = 100

/** The connection options of a session (all but the endpoints), as the settings ask for them. */
export type OgmiosConnectionOptions = Omit<OgmiosLiveOptions, "endpoints"> & {
  readonly requestTimeout: number
  readonly inFlight: number
  readonly reconnect: ReconnectOptions
}

/** The connection settings the options are built from. */
export type OgmiosConnectionSettings = Pick<HecateSettings, "ogmiosEndpoints" | "requestTimeout" | "reconnectMaxDelay" | "inFlight">

/** The connection options of a session under `policy`, from the settings. */
export const ogmiosOptions = (
  settings: Omit<OgmiosConnectionSettings, "ogmiosEndpoints">,
  policy: ReconnectPolicy
): OgmiosConnectionOptions => {
  const maxDelay = Duration.toMillis(settings.reconnectMaxDelay)
  return {
    requestTimeout: Duration.toMillis(settings.requestTimeout),
    inFlight: settings.inFlight,
    reconnect: {
      initialDelay: Math.min(INITIAL_RECONNECT_DELAY_MS, maxDelay),
      maxDelay,
      ...(policy === "bounded" ? { maxAttempts: BOUNDED_RECONNECT_ATTEMPTS } : {})
    }
  }
}

export interface OgmiosConnectorShape {
  /** the endpoints of this run, tried in rotation */
  readonly endpoints: ReadonlyArray<string>
  /** a chain follower's options under `policy` (for `chainSync$` and the relay): endpoints included */
  readonly follower: (policy: ReconnectPolicy) => OgmiosConnectionOptions & { readonly endpoints: ReadonlyArray<string> }
  /** the Ogmios service over `endpoints` (default: this run's) under `policy` */
  readonly layer: (policy: ReconnectPolicy, endpoints?: ReadonlyArray<string>) => Layer.Layer<Ogmios, OgmiosError>
}

/** The connector of `settings`: every session it opens uses their endpoints, timeouts and in-flight. */
export const makeOgmiosConnector = (settings: OgmiosConnectionSettings): OgmiosConnectorShape => ({
  endpoints: settings.ogmiosEndpoints,
  follower: (policy) => ({ ...ogmiosOptions(settings, policy), endpoints: settings.ogmiosEndpoints }),
  layer: (policy, endpoints = settings.ogmiosEndpoints) => OgmiosLive.layer({ ...ogmiosOptions(settings, policy), endpoints })
})

export class OgmiosConnector extends Context.Service<OgmiosConnector, OgmiosConnectorShape>()("hecate/OgmiosConnector") {
  /** The connector of the run's settings. */
  static readonly layer: Layer.Layer<OgmiosConnector, never, HecateConfig> = Layer.effect(
    OgmiosConnector,
    Effect.gen(function*() {
      return makeOgmiosConnector(yield* HecateConfig)
    })
  )
  /** The connector of these settings (the defaults for the others), for tests and embedders without a HecateConfig. */
  static readonly layerSettings = (settings: Partial<OgmiosConnectionSettings>): Layer.Layer<OgmiosConnector> =>
    Layer.succeed(OgmiosConnector, makeOgmiosConnector({ ...defaults, ...settings }))
}
