/**
 * An in-memory RelayStore: the relay's Redis contract (src/relay/scripts.ts) held in plain maps
 * and arrays, for unit tests of pipelines that end in a relay store (users' and ours) with no
 * Redis. It follows the write script step for step, so the same inputs give the same cursor and
 * the same `events` / `final` entries, ids included; `test/relay/store.contract.test.ts` runs
 * both implementations side by side and compares them. Consumer groups are not modelled: `lag`
 * is always 0 (no backpressure).
 */
import { Effect, Layer } from "effect"
import type { PointOrOrigin, TipOrOrigin } from "../domain/point.js"
import { RelayCursorInvalid, RelayFenced, RelayPrefixTaken, RelayResync } from "./errors.js"
import { DEFAULT_RELAY_PREFIX, relayKeys } from "./keys.js"
import type { RelayCursor } from "./RelayStore.js"
import { parseCursor, type RelayOp, RelayStore, type RelayStoreOptions, type RelayStoreShape, type WriteResult } from "./RelayStore.js"

/** One stream entry: its id and its field/value pairs, as XRANGE returns them. */
export type MemoryEntry = readonly [id: string, fields: ReadonlyArray<string>]

export interface MemoryRelayState {
  readonly cursor: Readonly<Record<string, string>>
  readonly window: ReadonlyArray<string>
  readonly events: ReadonlyArray<MemoryEntry>
  readonly final: ReadonlyArray<MemoryEntry>
  readonly checkpoints: ReadonlyArray<readonly [member: string, height: number]>
  readonly metrics: Readonly<Record<string, number>>
  readonly status: Readonly<Record<string, string>>
}

export interface MemoryRelayStore extends RelayStoreShape {
  /** What the store holds now (copies), for assertions. */
  readonly state: () => MemoryRelayState
}

const seqOf = (id: string): number => Number(id.split("-")[0])

const fieldOf = (fields: ReadonlyArray<string>, name: string): string | undefined => {
  for (let k = 0; k + 1 < fields.length; k += 2) if (fields[k] === name) return fields[k + 1]
  return undefined
}

/** A final entry: the apply's point and era, and the id of the apply entry that holds the block. */
const finalFields = (apply: ReadonlyArray<string>, ref: string): Array<string> => {
  const out: Array<string> = []
  for (let k = 0; k + 1 < apply.length; k += 2) {
    if (apply[k] === "type") out.push("type", "final")
    else if (apply[k] !== "block") out.push(apply[k]!, apply[k + 1]!)
  }
  out.push("ref", ref)
  return out
}

export const makeMemoryRelayStore = (options: RelayStoreOptions = {}): MemoryRelayStore => {
  const keys = relayKeys(options.prefix ?? DEFAULT_RELAY_PREFIX)
  const retain = options.retain ?? 100_000
  let cursor: Record<string, string> | undefined
  let window: Array<string> = []
  let events: Array<MemoryEntry> = []
  let final: Array<MemoryEntry> = []
  const checkpoints = new Map<string, number>()
  const metrics: Record<string, number> = {}
  const status: Record<string, string> = {}
  const incr = (field: string, by = 1) => (metrics[field] = (metrics[field] ?? 0) + by)

  const checkpointList = (): Array<string> =>
    [...checkpoints.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1)).flatMap(([m, h]) => [m, String(h)])

  const readNow = (): ReturnType<RelayStoreShape["read"]> =>
    cursor === undefined
      ? Effect.succeed(undefined)
      : Effect.try({ try: () => parseCursor(keys.prefix, cursor!, window, checkpointList()), catch: (e) => e as RelayCursorInvalid })

  const claim: RelayStoreShape["claim"] = () =>
    Effect.suspend(() => {
      if (cursor === undefined) return Effect.succeed(undefined)
      cursor["producer"] = String(Number(cursor["producer"]) + 1)
      return readNow()
    })

  const init: RelayStoreShape["init"] = ({ depth, extra, format, height, provisional = true, start }) =>
    Effect.suspend((): ReturnType<RelayStoreShape["init"]> => {
      if (cursor !== undefined) {
        return Effect.fail(new RelayPrefixTaken({ prefix: keys.prefix, detail: "another relay created the cursor at the same moment" }))
      }
      if (events.length > 0 || final.length > 0) {
        return Effect.fail(new RelayCursorInvalid({ prefix: keys.prefix, detail: "relay streams exist (with entries) without a relay cursor" }))
      }
      const now = String(Date.now())
      cursor = {
        producer: "1",
        seq: "0",
        depth: String(depth),
        format,
        final_slot: String(start === "origin" ? -1 : start.slot),
        final_hash: start === "origin" ? "origin" : start.id,
        final_height: height === null ? "" : String(height),
        created_ms: now,
        updated_ms: now,
        final_provisional: provisional ? "1" : "0",
        ...extra
      }
      return readNow().pipe(Effect.map((c) => c as RelayCursor))
    })

  /** The write script, step for step: validate the whole batch first, then apply it. */
  const apply = (seq: number, producer: number, ops: ReadonlyArray<RelayOp>, tip: TipOrOrigin | undefined): WriteResult => {
    const c = cursor
    if (c === undefined || Number(c["producer"]) !== producer) {
      if (c !== undefined && Number(c["producer"]) > producer) {
        throw new RelayFenced({ prefix: keys.prefix, detail: `the relay cursor ${keys.cursor} belongs to producer ${c["producer"]}, this is producer ${producer}` })
      }
      throw new RelayResync({
        detail: c === undefined
          ? `the relay cursor ${keys.cursor} is gone (this is producer ${producer}): Redis lost writes`
          : `the cursor went back to producer ${c["producer"]} (this is ${producer}): Redis lost writes`
      })
    }
    const stored = Number(c["seq"] ?? "0")
    if (stored >= seq) return { _tag: "Duplicate", seq: stored, lag: 0, length: 0 }
    if (stored !== seq - 1) throw new RelayResync({ detail: `the cursor is at write ${stored}, this is write ${seq}` })

    const fetch = (id: string) => events.find((e) => e[0] === id)?.[1]
    type Src = { readonly hash: string; readonly fields: ReadonlyArray<string> | undefined; readonly id: string }
    type Planned =
      | { readonly kind: "A"; readonly id: string; readonly entry: string; readonly fields: ReadonlyArray<string> }
      | { readonly kind: "U"; readonly id: string; readonly fields: ReadonlyArray<string> }
      | { readonly kind: "F"; readonly fields: ReadonlyArray<string> }
      | { readonly kind: "R"; readonly point: PointOrOrigin }
    const parse = (s: string) => {
      const [height, slot, hash, id] = s.split(" ")
      return { height: height!, slot: slot!, hash: hash!, id: id! }
    }
    let head = 0
    let tail = 0
    const pushed: Array<Src & { readonly entry: string }> = []
    let pHead = 0
    const planned: Array<Planned> = []
    let ev = 0
    for (const op of ops) {
      if (op._tag === "A") {
        const id = `${seq}-${ev++}`
        const fields = ["type", "apply", "slot", String(op.slot), "height", String(op.height), "hash", op.hash, "era", op.era, "block", typeof op.block === "string" ? op.block : op.block.toString()]
        const entry = `${op.height} ${op.slot} ${op.hash} ${id}`
        pushed.push({ hash: op.hash, fields, id, entry })
        planned.push({ kind: "A", id, entry, fields })
      } else if (op._tag === "R") {
        if (c["final_provisional"] !== "1") throw new RelayResync({ detail: `restart but the final point ${c["final_hash"]} is final` })
        if (window.length - head - tail > 0 || pushed.length > pHead) throw new RelayResync({ detail: "restart while the window still holds blocks" })
        planned.push({ kind: "R", point: op.point })
      } else {
        let src: Src | undefined
        if (op._tag === "U") {
          if (pushed.length > pHead) src = pushed.pop()
          else if (window.length - head - tail > 0) {
            const e = parse(window[window.length - 1 - tail]!)
            tail++
            src = { hash: e.hash, fields: fetch(e.id), id: e.id }
          }
        } else if (window.length - head - tail > 0) {
          const e = parse(window[head]!)
          head++
          src = { hash: e.hash, fields: fetch(e.id), id: e.id }
        } else if (pushed.length > pHead) src = pushed[pHead++]
        if (src === undefined) throw new RelayResync({ detail: `${op._tag} ${op.hash} past the stored window (${window.length} blocks)` })
        if (src.hash !== op.hash) throw new RelayResync({ detail: `${op._tag} ${op.hash} but the window holds ${src.hash} there` })
        if (src.fields === undefined) throw new RelayResync({ detail: `the apply entry ${src.id} of ${op.hash} is missing from ${keys.events}` })
        const f = src.fields
        planned.push(op._tag === "U"
          ? { kind: "U", id: `${seq}-${ev++}`, fields: f.map((v, k) => (k % 2 === 1 && f[k - 1] === "type" ? "undo" : v)) }
          : { kind: "F", fields: finalFields(f, src.id) })
      }
    }

    let na = 0
    let nu = 0
    let nf = 0
    const thin = (top: number) => {
      for (const [member, h] of [...checkpoints.entries()]) {
        const d = top - h
        if (d > 8) {
          let step = 1
          while (step * 8 < d) step *= 2
          if (h % step !== 0) checkpoints.delete(member)
        }
      }
    }
    for (const p of planned) {
      if (p.kind === "A") {
        events.push([p.id, p.fields])
        window.push(p.entry)
        na++
      } else if (p.kind === "U") {
        window.pop()
        events.push([p.id, p.fields])
        nu++
      } else if (p.kind === "F") {
        const e = parse(window.shift()!)
        final.push([`${seq}-${nf++}`, p.fields])
        if (c["final_height"] !== undefined && c["final_height"] !== "" && c["final_hash"] !== "origin") {
          checkpoints.set(`${c["final_slot"]} ${c["final_hash"]}`, Number(c["final_height"]))
        }
        Object.assign(c, { final_height: e.height, final_slot: e.slot, final_hash: e.hash, final_provisional: "0" })
        if (Number(e.height) % 16 === 0) thin(Number(e.height))
      } else {
        Object.assign(c, {
          final_slot: String(p.point === "origin" ? -1 : p.point.slot),
          final_hash: p.point === "origin" ? "origin" : p.point.id,
          final_height: ""
        })
        incr("restarts")
      }
    }
    Object.assign(c, { seq: String(seq), updated_ms: String(Date.now()) })
    if (tip !== undefined && tip !== "origin") Object.assign(c, { tip_slot: String(tip.slot), tip_hash: tip.id, tip_height: String(tip.height) })
    incr("writes")
    if (na > 0) incr("applies", na)
    if (nu > 0) {
      incr("undos", nu)
      incr("rollbacks")
    }
    if (nf > 0) incr("finals", nf)
    if (retain > 0) {
      // the write script trims approximately (MINID ~); here exactly, never the window's applies
      // nor an apply that a final entry still held refers to
      const fcut = seq - retain + 1
      if (fcut > 1 && nf > 0) final = final.filter((e) => seqOf(e[0]) >= fcut)
      let cut = seq - retain + 1
      const oldest = window[0]
      if (oldest !== undefined) cut = Math.min(cut, seqOf(parse(oldest).id))
      const ref = final[0] === undefined ? undefined : fieldOf(final[0][1], "ref")
      if (ref !== undefined) cut = Math.min(cut, seqOf(ref))
      if (cut > 1) events = events.filter((e) => seqOf(e[0]) >= cut)
    }
    return { _tag: "Written", seq, lag: 0, length: events.length }
  }

  const write: RelayStoreShape["write"] = (seq, producer, ops, tip) =>
    Effect.suspend(() => {
      try {
        return Effect.succeed(apply(seq, producer, ops, tip))
      } catch (error) {
        if (error instanceof RelayFenced || error instanceof RelayResync) return Effect.fail(error)
        throw error
      }
    })

  return {
    keys,
    retain,
    claim,
    read: () => Effect.suspend(readNow),
    init,
    write,
    lag: () => Effect.sync(() => ({ lag: 0, length: events.length })),
    discardFresh: () =>
      Effect.sync(() => {
        if (cursor?.["seq"] === "0" && window.length === 0) cursor = undefined
      }),
    setStatus: (fields) => Effect.sync(() => void Object.assign(status, Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])))),
    incrMetric: (field, by = 1) => Effect.sync(() => void incr(field, by)),
    state: () => ({
      cursor: { ...cursor },
      window: [...window],
      events: [...events],
      final: [...final],
      checkpoints: [...checkpoints.entries()],
      metrics: { ...metrics },
      status: { ...status }
    })
  }
}

/** `RelayStore` in memory: the layer for tests of pipelines that need no Redis. */
export const MemoryRelayStoreLayer = (options: RelayStoreOptions = {}): Layer.Layer<RelayStore> =>
  Layer.sync(RelayStore, () => makeMemoryRelayStore(options))

