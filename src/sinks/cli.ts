/**
 * The `cli` sinks, for a reader at a terminal. The backfill's: a readable table per batch on
 * stdout (or any `write`); the header counts the batch's blocks exactly (the Python Hecate's
 * header counted one too many). The relay's: one aligned line per event.
 */
import { Effect } from "effect"
import { blockSlot, type Block } from "../domain/block.js"
import type { ReorgEvent } from "../domain/reorg-event.js"
import type { BlockSink } from "./BlockSink.js"
import { BACKFILL_SINK_CAPABILITIES, RELAY_SINK_CAPABILITIES } from "./capabilities.js"
import { eventType, printedEventSink, type TextWriter } from "./event-printer.js"
import type { RelayEventSink } from "./Sink.js"

export interface CliSinkOptions {
  /** Where lines go (default process.stdout). */
  readonly write?: (text: string) => void
  /** Rows shown per batch; the rest is summarised (default 10). */
  readonly maxRows?: number
}

const short = (hash: string) => (hash.length > 16 ? `${hash.slice(0, 8)}…${hash.slice(-4)}` : hash)

/** The table text for one batch (exported for tests and for the status command). */
export const renderBatch = (epoch: number, blocks: ReadonlyArray<Block>, maxRows = 10): string => {
  const rows = blocks.slice(0, maxRows).map((b) => [
    String(b.height),
    b.slot === undefined ? "—" : String(b.slot),
    short(b.id),
    String(Array.isArray(b.transactions) ? b.transactions.length : 0),
    b.size === undefined ? "—" : String(b.size.bytes)
  ])
  const header = ["height", "slot", "hash", "txs", "bytes"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => (i === 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  const first = blocks[0]
  const last = blocks[blocks.length - 1]
  const txs = blocks.reduce((n, b) => n + (Array.isArray(b.transactions) ? b.transactions.length : 0), 0)
  const title = first === undefined || last === undefined
    ? `epoch ${epoch}: empty batch`
    : `epoch ${epoch}: ${blocks.length} block(s), heights ${first.height}–${last.height}, ${txs} transaction(s)`
  const out = [title, `  ${line(header)}`, ...rows.map((r) => `  ${line(r)}`)]
  if (blocks.length > maxRows) out.push(`  … ${blocks.length - maxRows} more block(s)`)
  return out.join("\n") + "\n"
}

export const makeCliSink = (options: CliSinkOptions = {}): BlockSink => {
  const write = options.write ?? ((text: string) => void process.stdout.write(text))
  return {
    name: "cli",
    capabilities: BACKFILL_SINK_CAPABILITIES.cli,
    open: () => Effect.void,
    beginEpoch: () => Effect.void,
    writeBatch: (epoch, blocks) => Effect.sync(() => write(renderBatch(epoch, blocks, options.maxRows ?? 10))),
    endEpoch: (epoch, lastHeight) => Effect.sync(() => write(`epoch ${epoch} complete (last height ${lastHeight})\n`)),
    close: () => Effect.void
  }
}

/** Relay events as aligned lines: type, height, slot, hash, era. */
export const cliEventLines = (events: ReadonlyArray<ReorgEvent>): string => {
  let out = ""
  for (const e of events) {
    out += `${eventType(e).padEnd(5)} ${String(e.block.height).padStart(9)} ${String(blockSlot(e.block)).padStart(10)} ${e.block.id} ${e.block.era}\n`
  }
  return out
}

/** `relay --sink cli`: the events as lines on stdout (or any `write`). */
export const makeCliEventSink = (write?: TextWriter): RelayEventSink<void> =>
  printedEventSink("cli", RELAY_SINK_CAPABILITIES.cli, cliEventLines, write)
