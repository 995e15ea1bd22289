/**
 * The Telemetry service: one run's observability state, instead of module-level globals.
 *
 * - `live`: the run's `LiveState` (metrics.ts): what /health, /api/state and the dashboard show;
 * - backfill progress as a `PubSub`: every event goes to the metrics and the live state, then to
 *   each subscriber (the progress bar, the run's epoch timeline, a library user's stream);
 * - the throughput sampler (blocks/s, the dashboard's charts) is a fiber of the layer's scope: it
 *   starts with the layer and stops with it.
 *
 * Commands provide `Telemetry.layer` around their run; library code takes it with `yield* Telemetry`.
 */
import { Context, Effect, Layer, PubSub, Schedule, type Scope, Stream } from "effect"
import type { BackfillProgress } from "../backfill/backfill.js"
import { type CommandName, LiveState, registerMetrics } from "./metrics.js"

export interface ProgressFollower {
  /** Completes once the follower has handled every event published so far (before a run records its end). */
  readonly caughtUp: Effect.Effect<void>
}

export interface TelemetryShape {
  readonly live: LiveState
  /** Marks the command as running in this process (the dashboard's header). */
  readonly command: (name: CommandName) => Effect.Effect<void>
  /**
   * One backfill progress event: metrics and live state first, then to every subscriber.
   * Synchronous, for the backfill's `onProgress` callback.
   */
  readonly publishProgress: (event: BackfillProgress) => void
  /** The progress events published from now on. */
  readonly progress: Stream.Stream<BackfillProgress>
  /** Runs `handler` on every progress event from now on, in a fiber of the caller's scope. */
  readonly followProgress: (handler: (event: BackfillProgress) => void) => Effect.Effect<ProgressFollower, never, Scope.Scope>
}

const SAMPLE_EVERY = "1 second"

const make: Effect.Effect<TelemetryShape, never, Scope.Scope> = Effect.gen(function*() {
  const live = new LiveState()
  const pubsub = yield* PubSub.unbounded<BackfillProgress>()
  yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub))
  let published = 0

  registerMetrics()
  yield* Effect.sync(() => live.sampleThroughput()).pipe(
    Effect.repeat(Schedule.spaced(SAMPLE_EVERY)),
    Effect.forkScoped
  )

  const command = Effect.fn("Telemetry.command")(function*(name: CommandName) {
    live.commands.add(name)
  })

  const publishProgress = (event: BackfillProgress): void => {
    live.observeBackfillProgress(event)
    published++
    PubSub.publishUnsafe(pubsub, event)
  }

  const followProgress = Effect.fn("Telemetry.followProgress")(function*(handler: (event: BackfillProgress) => void) {
    const subscription = yield* PubSub.subscribe(pubsub)
    // events published before the subscription are not this follower's
    let handled = published
    yield* PubSub.take(subscription).pipe(
      Effect.map((event) => {
        handled++
        handler(event)
      }),
      Effect.forever,
      Effect.forkScoped
    )
    // the follower's fiber handles each event as soon as it runs: yielding lets it (bounded, in
    // case its scope is already gone)
    const caughtUp = Effect.suspend(() => {
      const target = published
      const wait = (left: number): Effect.Effect<void> =>
        Effect.suspend(() => (handled >= target || left === 0 ? Effect.void : Effect.yieldNow.pipe(Effect.andThen(wait(left - 1)))))
      return wait(100_000)
    })
    return { caughtUp } satisfies ProgressFollower
  })

  return { live, command, publishProgress, progress: Stream.fromPubSub(pubsub), followProgress }
})

export class Telemetry extends Context.Service<Telemetry, TelemetryShape>()("hecate/Telemetry") {
  /** The service for the current scope (its sampler runs until the scope closes). */
  static readonly make = make
  static readonly layer: Layer.Layer<Telemetry> = Layer.effect(Telemetry, make)
}
