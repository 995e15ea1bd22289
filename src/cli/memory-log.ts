/**
 * `HECATE_MEMORY_LOG_MS=N`: a diagnostic line on stderr every N ms with the process's memory (RSS,
 * V8 heap, buffers outside it, the young generation), and one when the command line has loaded,
 * to see where the memory of a run goes (the modules before any work, then each phase). Off when
 * unset; it imports only node built-ins so it can run before the rest of the program loads.
 */
import { getHeapSpaceStatistics } from "node:v8"

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1)

export const memoryLine = (label: string): string => {
  const m = process.memoryUsage()
  const young = getHeapSpaceStatistics()
    .filter((s) => s.space_name === "new_space" || s.space_name === "semi_space")
    .reduce((sum, s) => sum + s.space_size, 0)
  return `memory ${label} t=${(process.uptime()).toFixed(2)}s rss=${mib(m.rss)} heapTotal=${mib(m.heapTotal)} heapUsed=${mib(m.heapUsed)} ` +
    `young=${mib(young)} external=${mib(m.external)} arrayBuffers=${mib(m.arrayBuffers)} MiB`
}

/** The interval from HECATE_MEMORY_LOG_MS, or undefined when unset or not a positive integer. */
export const memoryLogInterval = (raw: string | undefined): number | undefined => {
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined
  const ms = Number(raw.trim())
  return ms > 0 ? ms : undefined
}

/** Starts the periodic line when HECATE_MEMORY_LOG_MS asks for it; returns a function printing one line now. */
export const startMemoryLog = (raw: string | undefined): (label: string) => void => {
  const ms = memoryLogInterval(raw)
  if (ms === undefined) return () => {}
  setInterval(() => process.stderr.write(`${memoryLine("tick")}\n`), ms).unref()
  return (label) => process.stderr.write(`${memoryLine(label)}\n`)
}
