import { ErrorFields } from './errors';
import { graphql } from './graphql';

/** What a tick did: the task it fired (with its status) or why it was skipped. */
export const TickOutcomeFields = graphql(`
  fragment TickOutcomeFields on TickOutcome @_unmask {
    kind
    tick
    at
    taskId
    reason
    count
    manual
  }
`);

/** What the list and the schedule's page show, and what the edit form starts from. */
export const ScheduleFields = graphql(
  `
    fragment ScheduleFields on Schedule @_unmask {
      id
      name
      cron
      timezone
      intervalMs
      startAt
      endAt
      overlap
      missed
      jitterMs
      paused
      nextRunAt
      createdAt
      updatedAt
      task {
        type
        params
        queue
        priority
        maxAttempts
        timeoutMs
        labels {
          key
          value
        }
      }
      lastOutcome {
        ...TickOutcomeFields
      }
    }
  `,
  [TickOutcomeFields],
);

/** Every schedule, newest first (500 is the API's page cap; more would need paging). */
export const SchedulesQuery = graphql(
  `
    query Schedules($first: Int, $after: String) {
      schedules(first: $first, after: $after) {
        __typename
        ... on ScheduleConnection {
          endCursor
          nodes {
            ...ScheduleFields
          }
        }
        ...ErrorFields
      }
    }
  `,
  [ScheduleFields, ErrorFields],
);

/** One schedule, for a row to catch up after a tick (ticks carry no schedule, so no next run). */
export const ScheduleQuery = graphql(
  `
    query Schedule($id: ID!) {
      schedule(id: $id) {
        ...ScheduleFields
      }
    }
  `,
  [ScheduleFields],
);

/** A schedule's page: its settings, the next ticks and what the recent ones did. */
export const ScheduleDetailQuery = graphql(
  `
    query ScheduleDetail($id: ID!, $runs: Int!) {
      schedule(id: $id) {
        ...ScheduleFields
        nextRuns(count: $runs)
        ticks(count: 20) {
          ...TickOutcomeFields
        }
      }
    }
  `,
  [ScheduleFields, TickOutcomeFields],
);

/** Just the name, for the link on a task's page. */
export const ScheduleNameQuery = graphql(`
  query ScheduleName($id: ID!) {
    schedule(id: $id) {
      id
      name
    }
  }
`);

export const SchedulesSubscription = graphql(
  `
    subscription Schedules($scheduleId: ID) {
      schedules(scheduleId: $scheduleId) {
        cursor
        kind
        scheduleId
        at
        schedule {
          ...ScheduleFields
        }
        outcome {
          ...TickOutcomeFields
        }
      }
    }
  `,
  [ScheduleFields, TickOutcomeFields],
);

export const CreateScheduleMutation = graphql(
  `
    mutation CreateSchedule($input: CreateScheduleInput!) {
      createSchedule(input: $input) {
        __typename
        ... on Schedule {
          ...ScheduleFields
        }
        ...ErrorFields
      }
    }
  `,
  [ScheduleFields, ErrorFields],
);

export const UpdateScheduleMutation = graphql(
  `
    mutation UpdateSchedule($id: ID!, $input: UpdateScheduleInput!) {
      updateSchedule(id: $id, input: $input) {
        __typename
        ... on Schedule {
          ...ScheduleFields
        }
        ...ErrorFields
      }
    }
  `,
  [ScheduleFields, ErrorFields],
);

export const PauseScheduleMutation = graphql(
  `
    mutation PauseSchedule($id: ID!) {
      pauseSchedule(id: $id) {
        __typename
        ... on Schedule {
          ...ScheduleFields
        }
        ...ErrorFields
      }
    }
  `,
  [ScheduleFields, ErrorFields],
);

export const ResumeScheduleMutation = graphql(
  `
    mutation ResumeSchedule($id: ID!) {
      resumeSchedule(id: $id) {
        __typename
        ... on Schedule {
          ...ScheduleFields
        }
        ...ErrorFields
      }
    }
  `,
  [ScheduleFields, ErrorFields],
);

export const DeleteScheduleMutation = graphql(
  `
    mutation DeleteSchedule($id: ID!) {
      deleteSchedule(id: $id) {
        __typename
        ... on Schedule {
          id
        }
        ...ErrorFields
      }
    }
  `,
  [ErrorFields],
);

export const TriggerScheduleMutation = graphql(
  `
    mutation TriggerSchedule($id: ID!) {
      triggerSchedule(id: $id) {
        __typename
        ... on TickOutcome {
          ...TickOutcomeFields
        }
        ...ErrorFields
      }
    }
  `,
  [TickOutcomeFields, ErrorFields],
);
