import { ErrorFields } from './errors';
import { graphql } from './graphql';

/** What a row of the task stream shows, for events and history alike. */
export const TaskSummaryFields = graphql(`
  fragment TaskSummary on Task @_unmask {
    id
    type
    queue
    status
    createdAt
    updatedAt
    labels {
      key
      value
    }
    lastError {
      message
    }
  }
`);

export const TaskEventsSubscription = graphql(
  `
    subscription TaskEvents($filter: TaskFilter, $kinds: [TaskEventKind!], $after: String) {
      taskEvents(filter: $filter, kinds: $kinds, after: $after) {
        cursor
        kind
        taskId
        queue
        type
        status
        at
        data
        labels {
          key
          value
        }
        task {
          ...TaskSummary
        }
      }
    }
  `,
  [TaskSummaryFields],
);

export const TasksQuery = graphql(
  `
    query Tasks($filter: TaskFilter, $first: Int, $after: String) {
      tasks(filter: $filter, first: $first, after: $after) {
        totalCount
        pageInfo {
          endCursor
          hasNextPage
        }
        nodes {
          ...TaskSummary
        }
      }
    }
  `,
  [TaskSummaryFields],
);

export const TaskDetailFields = graphql(`
  fragment TaskDetail on Task @_unmask {
    id
    type
    queue
    status
    priority
    progress
    params
    result
    createdAt
    updatedAt
    startedAt
    finishedAt
    runAt
    attemptsMade
    maxAttempts
    timeoutMs
    idempotencyKey
    scheduleId
    labels {
      key
      value
    }
    lastError {
      code
      message
      retryable
    }
    attempts {
      attempt
      startedAt
      finishedAt
      stalled
      workerId
      error {
        code
        message
        retryable
      }
    }
    logs(count: 500) {
      at
      line
    }
    parent {
      id
      type
      status
    }
    children {
      id
      type
      status
    }
  }
`);

export const TaskSubscription = graphql(
  `
    subscription Task($id: ID!) {
      task(id: $id) {
        ...TaskDetail
      }
    }
  `,
  [TaskDetailFields],
);

export const TaskQuery = graphql(
  `
    query TaskById($id: ID!) {
      task(id: $id) {
        ...TaskDetail
      }
    }
  `,
  [TaskDetailFields],
);

export const CancelTaskMutation = graphql(
  `
    mutation CancelTask($id: ID!) {
      cancelTask(id: $id, reason: "cancelled from the console") {
        __typename
        ... on Task {
          id
          status
        }
        ...ErrorFields
      }
    }
  `,
  [ErrorFields],
);

export const RetryTaskMutation = graphql(
  `
    mutation RetryTask($id: ID!) {
      retryTask(id: $id) {
        __typename
        ... on Task {
          id
          status
        }
        ...ErrorFields
      }
    }
  `,
  [ErrorFields],
);

export const TaskTypesQuery = graphql(`
  query TaskTypes {
    taskTypes {
      name
      description
      queue
      paramsSchema
    }
  }
`);

export const SubmitTaskMutation = graphql(
  `
    mutation SubmitTask($input: SubmitTaskInput!) {
      submitTask(input: $input) {
        __typename
        ... on SubmitTaskPayload {
          created
          task {
            id
            status
          }
        }
        ...ErrorFields
      }
    }
  `,
  [ErrorFields],
);
