/**
 * Deterministic sharding for `--shard I/N`: a sample belongs to shard `hash(task/id) mod N`, where hash is the
 * first 48 bits of sha256. Hashing the id (not the row index) keeps the partition stable when the data source
 * yields rows in a different order, when `--limit` is applied first, and across resumes at a different world size
 * (the lm-eval#2140 complaint: caches that only resume "with the same GPU count").
 */
import { createHash } from 'node:crypto';

export interface ShardSpec {
  /** 0-based shard index. */
  readonly index: number;
  readonly count: number;
}

/** Parses `I/N` (0 <= I < N). */
export function parseShard(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--shard "${text}": expected I/N, e.g. 0/4`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new Error(`--shard "${text}": N must be at least 1`);
  if (index >= count) throw new Error(`--shard "${text}": I must be in 0..${count - 1}`);
  return { index, count };
}

export function formatShard(shard: ShardSpec): string {
  return `${shard.index}/${shard.count}`;
}

/** Which shard (0..count-1) a sample id of a task falls in. */
export function shardOf(task: string, id: string, count: number): number {
  if (count === 1) return 0;
  const digest = createHash('sha256').update(`${task}/${id}`).digest();
  return digest.readUIntBE(0, 6) % count;
}

export function inShard(task: string, id: string, shard: ShardSpec | undefined): boolean {
  return !shard || shardOf(task, id, shard.count) === shard.index;
}
