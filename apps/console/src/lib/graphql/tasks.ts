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

/** What an event row, a timeline entry and a resume cursor need; `data` depends on `kind`. */
export const TaskEventFields = graphql(`
  fragment TaskEventFields on TaskEvent @_unmask {
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
  }
`);

/**
 * The task stream and a task's timeline. No `task` here: the API would load every event's task,
 * a store read per event that a burst of a thousand events a second cannot afford.
 */
export const TaskEventsSubscription = graphql(
  `
    subscription TaskEvents($filter: TaskFilter, $kinds: [TaskEventKind!], $taskIds: [ID!], $after: String) {
      taskEvents(filter: $filter, kinds: $kinds, taskIds: $taskIds, after: $after) {
        ...TaskEventFields
      }
    }
  `,
  [TaskEventFields],
);

/** Dead-letter events, with their task as it is now (few events, each shown with its task). */
export const DeadLetterEventsSubscription = graphql(
  `
    subscription DeadLetterEvents($filter: TaskFilter, $kinds: [TaskEventKind!]) {
      taskEvents(filter: $filter, kinds: $kinds) {
        ...TaskEventFields
        task {
          ...TaskSummary
        }
      }
    }
  `,
  [TaskEventFields, TaskSummaryFields],
);

/** The newest event cursor: subscribe after it to miss nothing from the moment it was read. */
export const EventCursorQuery = graphql(`
  query EventCursor {
    eventCursor
  }
`);

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
    workflowId
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
