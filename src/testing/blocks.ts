/**
 * Deterministic blocks for chain histories. A block is named by (branch, height): its id is a
 * SHA-256 of both, its content carries the branch (in a field and in its one transaction), so two
 * blocks at the same height on different forks differ in id *and* content, and "same content"
 * checks are meaningful. Branch 0 is the first chain; every rollback starts a new branch.
 */
import { createHash } from "node:crypto"
import type { Block } from "../domain/block.js"
import type { Point, Tip } from "../domain/point.js"

/** A generated block: a minimal valid Ogmios praos block plus the branch it belongs to. */
export interface TestBlock extends Block {
  readonly type: "praos"
  readonly era: "conway"
  readonly slot: number
  readonly branch: number
  readonly transactions: ReadonlyArray<{ readonly id: string; readonly branch: number; readonly height: number }>
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")

/** The 64-hex id of the block at `height` on `branch`. */
export const testBlockId = (branch: number, height: number): string => sha256(`hecate/testing:block:${branch}:${height}`)

/** Slots grow with height (20 per block) and differ between branches at the same height. */
export const testBlockSlot = (branch: number, height: number): number => height * 20 + (branch % 20)

/** The block at `height` on `branch`, whose parent has id `ancestor` ("genesis" for height 0). */
export const testBlock = (branch: number, height: number, ancestor: string): TestBlock => {
  const id = testBlockId(branch, height)
  return {
    type: "praos",
    era: "conway",
    id,
    ancestor,
    height,
    slot: testBlockSlot(branch, height),
    size: { bytes: 1024 + (branch % 7) },
    branch,
    transactions: [{ id: sha256(`hecate/testing:tx:${branch}:${height}`), branch, height }]
  }
}

export const testPoint = (block: Block): Point => ({ slot: block.slot ?? 0, id: block.id })
export const testTip = (block: Block): Tip => ({ slot: block.slot ?? 0, id: block.id, height: block.height })
