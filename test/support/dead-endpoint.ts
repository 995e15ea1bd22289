/** A local ws:// endpoint nothing listens on: connections to it are refused. */
import { createServer } from "node:net"

export const deadEndpointUrl = async (): Promise<string> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `ws://127.0.0.1:${port}`
}
