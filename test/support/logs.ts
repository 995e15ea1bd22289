/** A logger that collects "LEVEL message" lines, for tests that assert on what was logged. */
import { Logger } from "effect"

export const collectLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make((o) => {
    const parts = Array.isArray(o.message) ? o.message : [o.message]
    lines.push(`${o.logLevel} ${parts.map(String).join(" ")}`)
  })
  return { lines, layer: Logger.layer([logger]) }
}
