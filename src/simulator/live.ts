/**
 * Live block production: one step every `blockIntervalMs`; with probability `forkRate` the step
 * is a fork switch (roll back a random depth, adopt depth+1 blocks of a new branch, as a node
 * switching to a longer chain), otherwise one new block. Random choices come from the seed, so a
 * given sequence of ticks is reproducible.
 */
import type { Chain } from "./chain.js"
import { Rng } from "./rng.js"

export interface LiveOptions {
  /** Milliseconds between produced blocks; 0 disables live production. Default 0. */
  readonly blockIntervalMs?: number
  /** Probability that a produced block is a fork switch. Default 0. */
  readonly forkRate?: number
  /** Deepest rollback of a live fork (clamped to k and the immutable tip rule). Default min(k, 10). */
  readonly maxRollback?: number
  /** Rollback depth distribution on 1..maxRollback: "geometric" (p=1/2, shallow forks dominate) or "uniform". Default "geometric". */
  readonly rollbackDistribution?: "geometric" | "uniform"
}

/** The deepest live fork when none is asked for (never deeper than the network's k). */
export const DEFAULT_MAX_ROLLBACK = 10

export class LiveProducer {
  private timer: NodeJS.Timeout | undefined
  private readonly rng: Rng
  readonly intervalMs: number
  readonly forkRate: number
  readonly maxRollback: number
  readonly distribution: "geometric" | "uniform"
  produced = 0
  forks = 0

  constructor(
    private readonly chain: Chain,
    options: LiveOptions
  ) {
    this.rng = Rng.fromString(`${chain.seed}/live`)
    this.intervalMs = options.blockIntervalMs ?? 0
    this.forkRate = options.forkRate ?? 0
    this.maxRollback = Math.min(options.maxRollback ?? DEFAULT_MAX_ROLLBACK, chain.network.securityParameter)
    this.distribution = options.rollbackDistribution ?? "geometric"
  }

  get running(): boolean {
    return this.timer !== undefined
  }

  /** Starts the timer (no-op when the interval is 0 or already running). */
  start(intervalMs = this.intervalMs): void {
    if (this.timer || intervalMs <= 0) return
    this.timer = setInterval(() => this.tick(), intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** One production step. Returns the rollback depth of a fork switch, or 0 for a plain block. */
  tick(): number {
    const allowed = Math.min(this.maxRollback, this.chain.maxRollbackDepth())
    if (allowed >= 1 && this.forkRate > 0 && this.rng.chance(this.forkRate)) {
      const depth =
        this.distribution === "uniform" ? this.rng.range(1, allowed) : Math.min(allowed, this.rng.geometric(0.5))
      this.chain.switchFork(depth, depth + 1)
      this.forks++
      this.produced += depth + 1
      return depth
    }
    this.chain.forge(1)
    this.produced++
    return 0
  }
}
