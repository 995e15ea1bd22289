/**
 * stderr as the CLI's terminal: log lines, and at most one status line (the backfill's progress
 * bar) kept below them. A log line first clears the status line, then redraws it, so the two never
 * write over each other.
 */

export interface Terminal {
  /** one log line (without its newline) */
  readonly line: (text: string) => void
  /** shows / replaces the status line (a TTY only: it is redrawn in place with \r) */
  readonly status: (text: string) => void
  /** leaves the last status line on screen, as a normal line, and stops redrawing it */
  readonly endStatus: () => void
}

const CLEAR_LINE = "\r\x1b[K"

export const makeTerminal = (write: (text: string) => void): Terminal => {
  let status: string | undefined
  return {
    line: (text) => write(status === undefined ? `${text}\n` : `${CLEAR_LINE}${text}\n${status}`),
    status: (text) => {
      status = text
      write(`${CLEAR_LINE}${text}`)
    },
    endStatus: () => {
      if (status === undefined) return
      status = undefined
      write("\n")
    }
  }
}

/** The process's stderr. */
export const stderr: Terminal = makeTerminal((text) => void process.stderr.write(text))
