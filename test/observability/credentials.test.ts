/**
 * Credentials in an Ogmios endpoint (`ws://user:key@host`, WebSocket basic auth of a hosted node)
 * never leave the process: not in a log line, not in the run history or any other key in Redis,
 * not in /health, /api/state or /metrics. And /health works with them: 200 while the relay follows.
 * The simulator ignores the credentials, as an Ogmios without auth would.
 */
import { Redis as IORedis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { redactCredentials, redactUrl, splitCredentials } from "../../src/domain/redacted-url.js"
import { startSimulator, type SimulatorHandle } from "../../src/simulator/index.js"
import { TEST_REDIS_URL } from "../backfill/redis-helpers.js"
import { caughtUp, cleanup, newPrefix, waitFor } from "../relay/harness.js"
import { output } from "../support/backfill-e2e.js"
import { runCli } from "../support/cli.js"
import { httpUrlOf, startCli } from "./support.js"

const SECRET = "s3cr3t-0gm10s-key"

describe("redacting credentials in text", () => {
  it("masks the password or a lone key of every URL, keeps the rest", () => {
    expect(redactCredentials(`dial ws://user:${SECRET}@node:1337/x failed; next wss://${SECRET}@h.example`))
      .toBe("dial ws://user:***@node:1337/x failed; next wss://***@h.example")
    expect(redactCredentials("ws://127.0.0.1:1337 and mail a@b.c")).toBe("ws://127.0.0.1:1337 and mail a@b.c")
    expect(redactUrl(`ws://user:${SECRET}@node:1337`)).toBe("ws://user:***@node:1337/")
    expect(redactUrl(`wss://${SECRET}@node`)).toBe("wss://***@node/")
    expect(redactUrl(`ws://node:1337/?apikey=${SECRET}&network=mainnet`)).toBe("ws://node:1337/?apikey=***&network=mainnet")
    for (const name of ["apikey", "API_KEY", "key", "token", "access_token", "password", "secret", "auth", "Authorization", "x-auth-token"]) {
      expect(redactCredentials(`dial ws://node/?a=1&${name}=${SECRET}: refused`), name).toBe(`dial ws://node/?a=1&${name}=***: refused`)
    }
    expect(redactCredentials("ws://node/?network=mainnet&page=2")).toBe("ws://node/?network=mainnet&page=2")
    const split = splitCredentials(`http://user:${SECRET}@node:1337/health`)
    expect(split.url).toBe("http://node:1337/health")
    expect(Buffer.from(split.authorization!.replace("Basic ", ""), "base64").toString()).toBe(`user:${SECRET}`)
  })
})

describe("relay with credentials in the Ogmios endpoint", () => {
  let sim: SimulatorHandle
  const client = new IORedis(TEST_REDIS_URL)
  const prefix = newPrefix()
  const runsPrefix = `${prefix}runs:`

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, seed: "credentials", securityParameter: 10, initialBlocks: 30, meanBlockBytes: 512 })
  })
  afterAll(async () => {
    await sim?.stop()
    await cleanup(client, [prefix])
    client.disconnect()
  })

  it(`"${SECRET}" appears in no log line, Redis key or HTTP body; /health is 200 when following`, async () => {
    const endpoint = `ws://user:${SECRET}@127.0.0.1:${sim.port}`
    const running = startCli(
      ["relay", "--endpoint", endpoint, "--from", "origin", "--depth", "10", "--no-refresh", "--redis-prefix", prefix, "--http-port", "0"],
      { REDIS_URL: TEST_REDIS_URL, HECATE_RUNS_PREFIX: runsPrefix },
      60_000
    )
    const base = await httpUrlOf(running)
    await caughtUp(client, prefix, sim)

    // a drop and a reconnect: the log lines that name the endpoint
    sim.faults.dropAfter(1)
    sim.forge(3)
    await waitFor("the reconnect log line", () => /reconnect/i.test(running.output()), 20_000)
    await caughtUp(client, prefix, sim)

    let health: Response | undefined
    await waitFor("/health 200", async () => {
      health = await fetch(`${base}/health`)
      return health.status === 200
    }, 20_000)
    const healthBody = await health!.text()
    expect(JSON.parse(healthBody).status).toBe("ok")
    const bodies = [healthBody, await (await fetch(`${base}/api/state`)).text(), await (await fetch(`${base}/metrics`)).text()]
    // the endpoint is shown, masked
    expect(bodies[0]).toContain("user:***@127.0.0.1")

    running.child().kill("SIGINT")
    const r = await running.done
    expect(r.code, output(r)).toBe(130)
    expect(running.output()).toContain("user:***@127.0.0.1")

    // every key the run wrote (relay prefix and run history), every field and stream entry
    const keys = await client.keys(`${prefix}*`)
    expect(keys.some((k) => k.startsWith(runsPrefix))).toBe(true)
    const stored: Array<string> = []
    for (const key of keys) {
      const type = await client.type(key)
      if (type === "hash") stored.push(JSON.stringify(await client.hgetall(key)))
      else if (type === "string") stored.push((await client.get(key)) ?? "")
      else if (type === "list") stored.push(JSON.stringify(await client.lrange(key, 0, -1)))
      else if (type === "zset") stored.push(JSON.stringify(await client.zrange(key, "0", "-1")))
      else if (type === "stream") stored.push(JSON.stringify(await client.xrange(key, "-", "+", "COUNT", "50")))
      else if (type === "set") stored.push(JSON.stringify(await client.smembers(key)))
    }
    expect(stored.join("\n")).toContain("user:***@127.0.0.1") // run parameters, relay status
    for (const text of [running.output(), ...bodies, ...stored]) expect(text).not.toContain(SECRET)
  })
})

describe("backfill with a key in the Ogmios endpoint's query string", () => {
  const client = new IORedis(TEST_REDIS_URL)
  const prefix = newPrefix()
  const runsPrefix = `${prefix}runs:`
  afterAll(async () => {
    await cleanup(client, [prefix])
    client.disconnect()
  })

  it(`"${SECRET}" appears in no log line, final message or run history`, async () => {
    const r = await runCli(["backfill", "--endpoint", `ws://127.0.0.1:1/?apikey=${SECRET}`, "--redis-prefix", prefix, "--retries", "0"], {
      env: { REDIS_URL: TEST_REDIS_URL, HECATE_RUNS_PREFIX: runsPrefix, HECATE_ENV_FILE: "/dev/null", HECATE_RECONNECT_MAX_DELAY_MS: "20" },
      timeoutMs: 30_000
    })
    expect(r.code, output(r)).toBe(10)
    expect(r.stderr).toMatch(/WARN .*\?apikey=\*\*\*/)
    expect(r.stdout).toContain("?apikey=***")
    const keys = (await client.keys(`${runsPrefix}*`))
    expect(keys.length).toBeGreaterThan(0)
    const stored: Array<string> = []
    for (const key of keys) {
      const type = await client.type(key)
      if (type === "hash") stored.push(JSON.stringify(await client.hgetall(key)))
      else if (type === "string") stored.push((await client.get(key)) ?? "")
      else if (type === "zset") stored.push(JSON.stringify(await client.zrange(key, "0", "-1")))
    }
    expect(stored.join("\n")).toContain("apikey=***")
    for (const text of [r.stdout, r.stderr, ...stored]) expect(text).not.toContain(SECRET)
  })
})
