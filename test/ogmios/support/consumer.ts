/**
 * Test consumer: applies chain-sync events to a model chain (forward = append, backward =
 * truncate) and records every violation of "no gap, no duplicate": a forward whose ancestor is
 * not the model's tip, or a backward to a point the model does not hold.
 */
import type { Subscription } from "rxjs"
import type { ChainSyncEvent } from "../../../src/domain/chain-event.js"
import type { ChainSync$ } from "../../../src/streams/chainSync.js"

export class ModelChain {
  readonly blocks: Array<{ id: string; slot: number; height: number }> = []
  readonly events: Array<ChainSyncEvent> = []
  readonly violations: Array<string> = []

  apply(event: ChainSyncEvent): void {
    this.events.push(event)
    if (event._tag === "RollForward") {
      const b = event.block
      const tip = this.blocks.at(-1)
      const expected = tip?.id ?? "genesis"
      if (b.ancestor !== expected) this.violations.push(`gap/dup: block ${b.height} ancestor ${b.ancestor.slice(0, 8)} != tip ${expected.slice(0, 8)}`)
      this.blocks.push({ id: b.id, slot: b.slot ?? -1, height: b.height })
    } else if (event.point === "origin") {
      this.blocks.length = 0
    } else {
      const p = event.point
      const at = this.blocks.findIndex((b) => b.id === p.id && b.slot === p.slot)
      if (at < 0) this.violations.push(`backward to unknown point ${p.slot}`)
      else this.blocks.length = at + 1
    }
  }

  get ids(): Array<string> {
    return this.blocks.map((b) => b.id)
  }

  get backwards(): Array<ChainSyncEvent> {
    return this.events.filter((e) => e._tag === "RollBackward")
  }
}

export const waitFor = async (cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> => {
  const start = Date.now()
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Subscribes with a model; `ack` decides when credit is returned (default: right away). */
export const consume = (source: ChainSync$, options: { ack?: "sync" | "manual" | number } = {}) => {
  const model = new ModelChain()
  const out = { model, error: undefined as unknown, completed: false, sub: undefined as unknown as Subscription }
  out.sub = source.subscribe({
    next: (event) => {
      model.apply(event)
      const ack = options.ack ?? "sync"
      if (ack === "sync") source.request(1)
      else if (typeof ack === "number") setTimeout(() => source.request(1), ack)
    },
    error: (error) => {
      out.error = error
    },
    complete: () => {
      out.completed = true
    }
  })
  return out
}
