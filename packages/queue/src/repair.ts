import { Buffer } from 'node:buffer';
import { ValidationError } from '@taskplane/core';
import { listWorkers } from './presence';
import { recordArgs } from './scripts';
import type { TaskEngine } from './task-engine';

/** Wire-level kinds of repair findings (what scripts/repair.lua checks). */
export const RepairKind = {
  /** An index entry whose task record is gone: the entry is removed. */
  IndexEntry: 'entry',
  /** A pending or running record with no BullMQ job and no live worker: failed and dead-lettered. */
  LostTask: 'record',
  /** A BullMQ job lock without an active job: the lock is deleted. */
  OrphanedLock: 'lock',
  /** A persistent idempotency key naming a task without a record: the key is deleted. */
  IdempotencyKey: 'idem',
} as const;
export type RepairKind = (typeof RepairKind)[keyof typeof RepairKind];

/** What a finding's fix does, said once per kind (the CLI and the API print it). */
export const REPAIR_ACTIONS: Record<RepairKind, string> = {
  entry: 'remove the index entry',
  record: 'mark the task failed and dead-letter it (dlq requeue runs it again)',
  lock: 'delete the lock',
  idem: 'delete the idempotency key',
};

export interface RepairFinding {
  kind: RepairKind;
  /** The index key, task id, queue or idempotency key the finding is about. */
  subject: string;
  /** The task id in the index, the record's status, the job id, or the id the key names. */
  member: string;
  detail: string;
  action: string;
}

export interface RepairPage {
  findings: RepairFinding[];
  /** Where the next call goes on; null when the walk has covered every key. */
  cursor: string | null;
  /** Keys and index entries looked at by this call (at most `REPAIR_BUDGET`, plus one SCAN batch). */
  examined: number;
  dryRun: boolean;
}

/**
 * Keys and index entries one repair call looks at: a call reads a bounded slice of the keyspace
 * and hands back a cursor, so a repair of any size is many short calls that never hold Redis long
 * (invariant 10), and a client that stops between calls leaves nothing half done.
 */
export const REPAIR_BUDGET = 5_000;
/** COUNT of each SCAN and ZSCAN call. */
const SCAN_COUNT = 500;
/** Candidates checked per script call. */
const SCRIPT_BATCH = 500;

/** The SCAN cursor of a walk whose SCAN has returned to 0 (every key seen). */
const SCAN_DONE = 'done';

/** Where a walk stands: the SCAN cursor, index keys of the last SCAN batch still to walk, and the ZSCAN cursor in the first. */
interface WalkState {
  s: string;
  k: string[];
  z: string;
}

function decodeCursor(cursor: string | null | undefined): WalkState {
  if (!cursor) return { s: '0', k: [], z: '0' };
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as WalkState;
    if (typeof state.s === 'string' && Array.isArray(state.k) && typeof state.z === 'string') return state;
  } catch {}
  throw new ValidationError('not a repair cursor', [
    { path: 'after', message: 'pass the cursor a repair call returned' },
  ]);
}

const encodeCursor = (state: WalkState) => Buffer.from(JSON.stringify(state)).toString('base64url');

/**
 * One bounded step of the repair walk: SCAN (this is the repair tool, the one place a scan is
 * allowed) over the prefix's keys from `after`, and check what it finds in `scripts/repair.lua`,
 * which fixes each inconsistency in the same call unless `dryRun`. Start without `after`; go on
 * with the returned cursor until it is null. A dry run and a fix see the same findings.
 */
export async function repairStep(
  engine: TaskEngine,
  options: { dryRun: boolean; after?: string | null },
): Promise<RepairPage> {
  const { keys, redis } = engine;
  const state = decodeCursor(options.after);
  const queuePrefixes = engine.queueNames().map((q) => [q, `${keys.bullQueue(q)}:`] as const);
  const candidates: string[] = [];
  let examined = 0;
  while (examined < REPAIR_BUDGET) {
    if (state.k.length) {
      const key = state.k[0]!;
      const [next, flat] = await redis.zscan(key, state.z, 'COUNT', SCAN_COUNT);
      for (let i = 0; i < flat.length; i += 2) candidates.push(RepairKind.IndexEntry, key, flat[i]!);
      examined += flat.length / 2;
      if (next === '0') {
        state.k.shift();
        state.z = '0';
      } else state.z = next;
      continue;
    }
    if (state.s === SCAN_DONE) break;
    const [next, found] = await redis.scan(state.s, 'MATCH', `${keys.prefix}:*`, 'COUNT', SCAN_COUNT);
    state.s = next === '0' ? SCAN_DONE : next;
    examined += found.length;
    for (const key of found) {
      if (key.startsWith(keys.indexPrefix)) {
        if ((await redis.type(key)) === 'zset') state.k.push(key);
      } else if (key.startsWith(keys.idempotencyPrefix)) {
        candidates.push(RepairKind.IdempotencyKey, key.slice(keys.idempotencyPrefix.length), '');
      } else if (key.startsWith(keys.taskPrefix)) {
        const id = key.slice(keys.taskPrefix.length);
        if (!id.includes(':')) candidates.push(RepairKind.LostTask, id, '');
      } else if (key.endsWith(keys.bullLockSuffix)) {
        const queue = queuePrefixes.find(([, p]) => key.startsWith(p));
        const jobId = queue && key.slice(queue[1].length, -keys.bullLockSuffix.length);
        if (queue && jobId && !jobId.includes(':')) candidates.push(RepairKind.OrphanedLock, queue[0], jobId);
      }
    }
  }
  const live = (await listWorkers(redis, keys)).flatMap((w) => w.runningTasks);
  const findings: RepairFinding[] = [];
  for (let i = 0; i < candidates.length; i += SCRIPT_BATCH * 3) {
    const reply = await redis.tpRepair(
      keys.events,
      ...recordArgs(keys, engine.config.events.stream_max_len),
      keys.bullKeyPrefix,
      keys.idempotencyPrefix,
      Math.round(engine.config.retention.idempotency_window / 1000),
      Date.now(),
      options.dryRun ? '1' : '0',
      live.length,
      ...live,
      ...candidates.slice(i, i + SCRIPT_BATCH * 3),
    );
    for (let j = 0; j < reply.length; j += 4) {
      const kind = reply[j] as RepairKind;
      findings.push({
        kind,
        subject: reply[j + 1]!,
        member: reply[j + 2]!,
        detail: reply[j + 3]!,
        action: REPAIR_ACTIONS[kind],
      });
    }
  }
  const done = state.s === SCAN_DONE && !state.k.length;
  return { findings, cursor: done ? null : encodeCursor(state), examined, dryRun: options.dryRun };
}
