/** URLs that may carry a password (REDIS_URL), made safe to print. */

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`; never returns the password. */
export const redactUrl = (url: string): string => {
  try {
    const u = new URL(url)
    if (u.password !== "") u.password = "***"
    return u.toString()
  } catch {
    return "<not a URL>"
  }
}

/** The password embedded in a URL, if any (so it can be scrubbed from error texts). */
export const urlPassword = (url: string): string | undefined => {
  try {
    const p = new URL(url).password
    return p === "" ? undefined : decodeURIComponent(p)
  } catch {
    return undefined
  }
}
