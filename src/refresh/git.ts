/**
 * `refresh --commit`: commit the changed epoch data files to the git repository that holds them,
 * with a message naming the epochs, and push when the current branch has an upstream (a remote and
 * a branch configured). Never force-pushes (the old periodic flow did). Only the given paths are
 * committed (`git commit -- <paths>`), so whatever else is staged stays staged.
 */
import { execFile } from "node:child_process"
import { dirname, relative } from "node:path"
import { Effect } from "effect"
import { formatEpochRanges } from "../backfill/errors.js"
import { GitCommitFailed } from "./errors.js"

interface GitOutput {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const git = (cwd: string, args: ReadonlyArray<string>): Effect.Effect<GitOutput> =>
  Effect.callback<GitOutput>((resume) => {
    const child = execFile("git", [...args], { cwd, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : 127
      resume(Effect.succeed({ code, stdout, stderr: stderr || (error?.message ?? "") }))
    })
    return Effect.sync(() => void child.kill())
  })

export type CommitOutcome =
  | { readonly _tag: "NoRepository"; readonly dir: string }
  | { readonly _tag: "NothingToCommit"; readonly repository: string }
  | { readonly _tag: "Committed"; readonly repository: string; readonly commit: string; readonly message: string; readonly pushed: string | undefined }

export const commitMessage = (network: string, epochs: ReadonlyArray<number>): string =>
  `epoch data: ${network} epoch${epochs.length === 1 ? "" : "s"} ${formatEpochRanges(epochs)} (hecate refresh, derived from the chain)`

/**
 * Commits `files` (absolute paths, all in one repository). Files git ignores are left out.
 * Without a repository: `NoRepository` (not an error: the refresh itself succeeded).
 */
export const commitDataFiles = (
  files: ReadonlyArray<string>,
  message: string
): Effect.Effect<CommitOutcome, GitCommitFailed> =>
  Effect.gen(function*() {
    const dir = dirname(files[0] ?? ".")
    const top = yield* git(dir, ["rev-parse", "--show-toplevel"])
    if (top.code !== 0) return { _tag: "NoRepository", dir } as const
    const repository = top.stdout.trim()
    const step = (name: string, args: ReadonlyArray<string>) =>
      Effect.flatMap(git(repository, args), (out) =>
        out.code === 0 ? Effect.succeed(out) : Effect.fail(new GitCommitFailed({ step: name, detail: out.stderr || out.stdout })))

    const paths: Array<string> = []
    for (const file of files) {
      const rel = relative(repository, file)
      const ignored = yield* git(repository, ["check-ignore", "-q", "--", rel])
      if (ignored.code !== 0) paths.push(rel)
    }
    if (paths.length === 0) return { _tag: "NothingToCommit", repository } as const
    yield* step("add", ["add", "--", ...paths])
    const changed = yield* git(repository, ["diff", "--cached", "--quiet", "--", ...paths])
    if (changed.code === 0) return { _tag: "NothingToCommit", repository } as const
    yield* step("commit", ["commit", "--no-verify", "-m", message, "--", ...paths])
    const commit = (yield* step("rev-parse", ["rev-parse", "HEAD"])).stdout.trim()
    // push only when the current branch tracks an upstream (remote + branch configured)
    const upstream = yield* git(repository, ["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"])
    let pushed: string | undefined
    if (upstream.code === 0 && upstream.stdout.trim() !== "") {
      yield* step("push", ["push"])
      pushed = upstream.stdout.trim()
    }
    return { _tag: "Committed", repository, commit, message, pushed } as const
  })
