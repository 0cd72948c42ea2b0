import { ErrorFields } from './errors';
import { graphql } from './graphql';

export const DeadLettersQuery = graphql(`
  query DeadLetters($filter: TaskFilter, $first: Int, $after: String) {
    deadLetters(filter: $filter, first: $first, after: $after) {
      endCursor
      hasNextPage
      nodes {
        id
        deadLetteredAt
        error {
          code
          message
        }
        task {
          id
          type
          queue
          params
          attemptsMade
          labels {
            key
            value
          }
        }
      }
    }
  }
`);

const BulkOperationFields = graphql(`
  fragment BulkOperationFields on BulkOperation @_unmask {
    id
    kind
    state
    total
    processed
    succeeded
    failed
    startedAt
    finishedAt
    errors {
      taskId
      message
    }
  }
`);

const BulkResultFields = graphql(
  `
    fragment BulkResultFields on BulkResult @_unmask {
      dryRun
      preview {
        count
        sample {
          id
          type
          lastError {
            message
          }
        }
      }
      operation {
        ...BulkOperationFields
      }
    }
  `,
  [BulkOperationFields],
);

export const RequeueDeadLettersMutation = graphql(
  `
    mutation RequeueDeadLetters($filter: TaskFilter, $dryRun: Boolean) {
      result: requeueDeadLetters(filter: $filter, dryRun: $dryRun) {
        __typename
        ...BulkResultFields
        ...ErrorFields
      }
    }
  `,
  [BulkResultFields, ErrorFields],
);

export const PurgeDeadLettersMutation = graphql(
  `
    mutation PurgeDeadLetters($filter: TaskFilter, $dryRun: Boolean) {
      result: purgeDeadLetters(filter: $filter, dryRun: $dryRun) {
        __typename
        ...BulkResultFields
        ...ErrorFields
      }
    }
  `,
  [BulkResultFields, ErrorFields],
);

export const BulkOperationSubscription = graphql(
  `
    subscription BulkOperation($id: ID!) {
      bulkOperation(id: $id) {
        ...BulkOperationFields
      }
    }
  `,
  [BulkOperationFields],
);
