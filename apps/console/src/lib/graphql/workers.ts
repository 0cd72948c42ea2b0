import { graphql } from './graphql';

export const WorkerFields = graphql(`
  fragment WorkerFields on Worker @_unmask {
    id
    host
    pid
    queues
    runningTasks
    startedAt
    lastSeenAt
    memoryRss
    concurrency {
      queue
      concurrency
    }
  }
`);

export const WorkersQuery = graphql(
  `
    query Workers {
      workers {
        ...WorkerFields
      }
    }
  `,
  [WorkerFields],
);

export const WorkersSubscription = graphql(
  `
    subscription WorkerChanges {
      workers {
        kind
        worker {
          ...WorkerFields
        }
      }
    }
  `,
  [WorkerFields],
);
