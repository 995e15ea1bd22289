/**
 * The Hecate command line, loaded by src/main.ts once the Node version is known to be enough. Each
 * command lives in src/commands/ and is loaded only when it runs (src/commands/index.ts); this file
 * assembles the tree and runs it with the platform services and documented exit codes. The platform
 * modules are imported by their own paths: the package's index loads every Node service it has
 * (sockets, HTTP, workers, …), about 30 MiB more than the runtime and the basic services.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect } from "effect"
import { CliOutput, Command } from "effect/cli"
import { teardown } from "./exit-codes.js"
import { untilOutputCloses } from "./process.js"
import { loadCommands } from "../commands/index.js"

const hecate = Command.make("hecate").pipe(
  Command.withDescription(
    "Relay Cardano blocks from Ogmios into Redis: epoch-parallel backfill, a rollback-aware realtime relay, " +
      "and a forking Ogmios simulator to run them against."
  ),
  Command.withSubcommands(await loadCommands(process.argv.slice(2)))
)

/**
 * A mistyped flag gets its error and where to look, on stderr: the whole help page (some 60 lines
 * on stdout) would bury the one line that names the problem.
 */
const invalidInvocationPresenter = CliOutput.layerPresenter({
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.gen(function*() {
        // one line per problem, named by the command it is about
        for (const error of event.errors) yield* Console.error(`${event.commandPath.join(" ")}: ${error.message}`)
        yield* Console.error(`Run \`hecate ${event.commandPath.slice(1).concat("--help").join(" ")}\` for the flags and their defaults.`)
      })
      : CliOutput.defaultPresenter.present(event)
})

hecate.pipe(
  Command.run({ version: "0.1.0" }),
  untilOutputCloses,
  Effect.provide(invalidInvocationPresenter),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ teardown, disableErrorReporting: false })
)
