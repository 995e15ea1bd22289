/**
 * The refresh's typed errors; each carries its exit code and says what to do.
 *
 *   17  EpochNotFinal      an epoch asked for (--until-epoch) is not final yet: nothing of it was recorded
 *    1  DataFilesError     the CSVs could not be read or written
 *    1  GitCommitFailed    the data files were updated, but `git add/commit/push` failed
 */
import { Schema } from "effect"

/** Exit 17: `--until-epoch` names an epoch that is not final; the final epochs before it were recorded. */
export class EpochNotFinal extends Schema.TaggedError<EpochNotFinal>()("EpochNotFinal", {
  /** the epoch asked for (--until-epoch) */
  requested: Schema.Number,
  /** the first epoch up to it that is not final */
  epoch: Schema.Number,
  /** the last epoch that is final, or -1 when none is */
  lastFinal: Schema.Number,
  tipEpoch: Schema.Number,
  tipHeight: Schema.Number,
  securityParameter: Schema.Number
}) {
  readonly exitCode = 17
  override get message(): string {
    const why = this.epoch >= this.tipEpoch
      ? `the chain's tip (height ${this.tipHeight}) is still in epoch ${this.tipEpoch}`
      : `the first block of epoch ${this.epoch + 1} is fewer than k = ${this.securityParameter} blocks deep (tip height ${this.tipHeight}), so a rollback could still change where epoch ${this.epoch} ends`
    const done = this.lastFinal >= 0 ? `The final epochs up to ${this.lastFinal} are recorded; ` : "No epoch is final yet; "
    const asked = this.requested === this.epoch ? "" : ` (--until-epoch ${this.requested} needs epochs up to ${this.requested})`
    return `epoch ${this.epoch} is not final${asked}: ${why}. It was not recorded. ${done}` +
      `run refresh again once the first block of epoch ${this.epoch + 1} is ${this.securityParameter} blocks deep.`
  }
}

/** Exit 1: reading or writing the epoch CSVs failed. */
export class DataFilesError extends Schema.TaggedError<DataFilesError>()("DataFilesError", {
  path: Schema.String,
  detail: Schema.String
}) {
  readonly exitCode = 1
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

/** Exit 1: the data files were written, but committing (or pushing) them failed. */
export class GitCommitFailed extends Schema.TaggedError<GitCommitFailed>()("GitCommitFailed", {
  step: Schema.String,
  detail: Schema.String
}) {
  readonly exitCode = 1
  override get message(): string {
    return `git ${this.step} failed (${this.detail.trim()}). The epoch data files were updated; commit them by hand or fix the repository and rerun with --commit.`
  }
}
