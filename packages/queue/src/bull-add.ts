import { Job, type JobsOptions, type Queue } from 'bullmq';

/** A job to add, as `Queue.addBulk` takes it. */
export interface BullJobSpec {
  name: string;
  data: unknown;
  opts: JobsOptions;
}

type BullClient = Parameters<Job['addJob']>[0];

/** BullMQ's client of the queue's connection (its commands go through a small adapter of BullMQ's). */
export function bullClient(queue: Queue): Promise<BullClient> {
  return queue.getBackend().client;
}

/**
 * Send BullMQ's adds of `jobs` now, each its own command on `client` (from `bullClient`), written
 * to the socket before this returns: a caller that corks the connection around this and the
 * commands that follow (a submit's projection) sends them in one write, without the cost of an
 * ioredis pipeline (which copies every defined script, ~75 of them, onto each pipeline it makes).
 * Each promise settles with its job's id, or rejects as `Queue.add` would (bad options, a
 * missing parent).
 *
 * The calls `Queue.add` makes (`Job.addJob`), minus its tracing and the queue's default job
 * options, which Taskplane's queues do not set. `bull-contract.redis.test.ts` checks it against
 * BullMQ.
 */
export function sendAdds(queue: Queue, client: BullClient, jobs: BullJobSpec[]): Promise<string>[] {
  return jobs.map(({ name, data, opts }) => {
    try {
      const job = new Job(queue, name, data, opts, opts.jobId);
      const parentKey = job.parentKey;
      return job.addJob(client, {
        parentKey,
        parentDependenciesKey: parentKey ? `${parentKey}:dependencies` : undefined,
      });
    } catch (error) {
      return Promise.reject(error);
    }
  });
}
