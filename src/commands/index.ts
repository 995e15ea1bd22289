/** The command tree, one module per command. */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"

const version = Command.make("version", {}, () => Console.log("hecate 0.1.0")).pipe(
  Command.withDescription("Print the version")
)

export const commands = [version] as const
void Effect
