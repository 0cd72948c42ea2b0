import { Job, type JobsOptions, type Queue } from 'bullmq';
import type { ChainableCommander } from 'ioredis';

/** A job to add, as `Queue.addBulk` takes it. */
export interface BullJobSpec {
  name: string;
  data: unknown;
  opts: JobsOptions;
}

/** What a pipeline's `exec` resolves to: an error or a reply per command. */
export type PipelineReplies = [Error | null, unknown][];

/**
 * A pipeline on the queue's connection as BullMQ makes them (its commands go through a small
 * adapter BullMQ adds to ioredis' pipeline), for `queueAdds` and whatever else the caller queues:
 * a submit puts its projection right behind its adds, so adding a task and recording it are one
 * round trip.
 */
export async function bullPipeline(queue: Queue): Promise<ChainableCommander> {
  const client = await queue.getBackend().client;
  return client.pipeline() as unknown as ChainableCommander;
}

/**
 * Queue BullMQ's adds of `jobs` on `pipeline` (from `bullPipeline`), to run when the caller
 * executes it; `addedIds` reads their replies. Resolves once they are queued, or rejects as
 * `Queue.add` would on bad options, before anything is sent.
 *
 * The calls `Queue.addBulk` makes (`Job.addJob` on a pipeline, which BullMQ's own bulk add and
 * flow producer rely on), minus the queue's default job options, which Taskplane's queues do not
 * set. `bull-contract.redis.test.ts` checks it against BullMQ.
 */
export async function queueAdds(
  queue: Queue,
  pipeline: ChainableCommander,
  jobs: BullJobSpec[],
): Promise<void> {
  const queued = jobs.map(({ name, data, opts }) => {
    const job = new Job(queue, name, data, opts, opts.jobId);
    const parentKey = job.parentKey;
    return job.addJob(pipeline as unknown as Parameters<Job['addJob']>[0], {
      parentKey,
      parentDependenciesKey: parentKey ? `${parentKey}:dependencies` : undefined,
    });
  });
  await Promise.all(queued);
}

/**
 * The job ids of the first `count` replies, which `queueAdds` queued; throws the first refusal:
 * an error, or BullMQ's negative code (-5: the parent job is missing), which `addBulk` would let
 * through as an id.
 */
export function addedIds(replies: PipelineReplies, count: number): string[] {
  return replies.slice(0, count).map(([error, id]) => {
    if (error) throw error;
    if (typeof id === 'number' && id < 0) {
      throw new Error(`BullMQ refused the job (code ${id}${id === -5 ? ': its parent job is missing' : ''})`);
    }
    return String(id);
  });
}
