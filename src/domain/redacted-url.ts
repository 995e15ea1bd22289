/**
 * URLs that may carry credentials (REDIS_URL's password; an Ogmios endpoint's
 * `ws://user:key@host` or `wss://key@host` of a hosted node), made safe to print, log, store in
 * the run history or serve over HTTP.
 */

/**
 * Query parameters whose value is a credential (`?apikey=…`, `&access_token=…`, `?auth=…`): a
 * hosted Ogmios may take its key there instead of in the user part. Matched on the name, any case.
 */
const SECRET_PARAM = /^(?:[\w.-]*[-_.])?(?:api[-_]?key|key|token|access[-_]?token|password|passwd|pwd|secret|auth\w*|credentials?|signature|sig)$/i

// `?name=value` / `&name=value` anywhere in a text; the value ends at the next &, #, space or
// quote, leaving out punctuation that ends the sentence around it (`…?apikey=k: connect refused`)
const QUERY_PARAM = /([?&])([\w.-]+)=([^&#\s"'<>]*?)(?=[&#\s"'<>]|[:;,.)\]]*(?:[\s"'<>]|$))/g

const maskQuery = (text: string): string =>
  text.replace(QUERY_PARAM, (match, sep: string, name: string) => (SECRET_PARAM.test(name) ? `${sep}${name}=***` : match))

/**
 * `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`, `ws://host/?apikey=k` →
 * `ws://host/?apikey=***`; never returns the password or key.
 */
export const redactUrl = (url: string): string => {
  try {
    const u = new URL(url)
    if (u.password !== "") u.password = "***"
    // a lone user part of a ws:// endpoint is the API key of a hosted Ogmios
    else if (u.username !== "" && (u.protocol === "ws:" || u.protocol === "wss:")) u.username = "***"
    if (u.search !== "") u.search = maskQuery(u.search)
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

// scheme://userinfo@ — the userinfo is everything up to the first "@" before the host, without
// spaces, slashes or quotes (so a path or the next word never counts as credentials)
const CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@"'<>:]*)(?::([^\s/@"'<>]*))?@/gi

/**
 * Every URL in `text` with its credentials masked: `ws://user:key@host` → `ws://user:***@host`,
 * `wss://key@host` → `wss://***@host`, `?apikey=key` → `?apikey=***`. For texts that may quote an endpoint or a Redis URL: log
 * lines, error messages, run parameters, HTTP bodies.
 */
export const redactCredentials = (text: string): string =>
  maskQuery(text.replace(CREDENTIALS, (_match, scheme: string, user: string, password: string | undefined) =>
    password === undefined ? `${scheme}***@` : `${scheme}${user}:***@`))

/** `value` with every string inside it passed through `redactCredentials` (plain data only). */
export const redactDeep = <A>(value: A): A => {
  if (typeof value === "string") return redactCredentials(value) as A
  if (Array.isArray(value)) return value.map(redactDeep) as A
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v)
    return out as A
  }
  return value
}

/**
 * `url` without its credentials, and the `Authorization` header that carries them instead (a
 * WHATWG fetch refuses a URL with credentials; Ogmios and its proxies take HTTP basic auth).
 */
export const splitCredentials = (url: string): { readonly url: string; readonly authorization: string | undefined } => {
  const u = new URL(url)
  if (u.username === "" && u.password === "") return { url: u.toString(), authorization: undefined }
  const basic = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64")
  u.username = ""
  u.password = ""
  return { url: u.toString(), authorization: `Basic ${basic}` }
}
