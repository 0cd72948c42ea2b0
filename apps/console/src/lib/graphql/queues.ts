import { ErrorFields } from './errors';
import { graphql } from './graphql';

export const QueueFields = graphql(`
  fragment QueueFields on Queue @_unmask {
    name
    paused
    concurrency
    globalConcurrency
    rateLimit {
      max
      durationMs
    }
    counts {
      pending
      running
      delayed
      blocked
      succeeded
      deadLettered
    }
  }
`);

export const QueuesQuery = graphql(
  `
    query Queues {
      queues {
        ...QueueFields
      }
    }
  `,
  [QueueFields],
);

export const QueueStatsSubscription = graphql(`
  subscription QueueStats($names: [String!]) {
    queueStats(names: $names) {
      name
      at
      paused
      concurrency
      globalConcurrency
      rateLimit {
        max
        durationMs
      }
      throughputPerMinute
      failureRate
      avgDurationMs
      alerts
      counts {
        pending
        running
        delayed
        blocked
        succeeded
        deadLettered
      }
    }
  }
`);

export const SetQueueConcurrencyMutation = graphql(
  `
    mutation SetQueueConcurrency($name: String!, $concurrency: Int!) {
      setQueueConcurrency(name: $name, concurrency: $concurrency) {
        __typename
        ... on Queue {
          ...QueueFields
        }
        ...ErrorFields
      }
    }
  `,
  [QueueFields, ErrorFields],
);

export const SetQueueRateLimitMutation = graphql(
  `
    mutation SetQueueRateLimit($name: String!, $max: Int, $durationMs: Int) {
      setQueueRateLimit(name: $name, max: $max, durationMs: $durationMs) {
        __typename
        ... on Queue {
          ...QueueFields
        }
        ...ErrorFields
      }
    }
  `,
  [QueueFields, ErrorFields],
);

export const PauseQueueMutation = graphql(
  `
    mutation PauseQueue($name: String!) {
      pauseQueue(name: $name) {
        __typename
        ... on Queue {
          ...QueueFields
        }
        ...ErrorFields
      }
    }
  `,
  [QueueFields, ErrorFields],
);

export const ResumeQueueMutation = graphql(
  `
    mutation ResumeQueue($name: String!) {
      resumeQueue(name: $name) {
        __typename
        ... on Queue {
          ...QueueFields
        }
        ...ErrorFields
      }
    }
  `,
  [QueueFields, ErrorFields],
);
