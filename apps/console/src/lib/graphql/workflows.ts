import { ErrorFields } from './errors';
import { graphql } from './graphql';

/** What the list shows of a workflow, and the header of its page. */
export const WorkflowSummaryFields = graphql(`
  fragment WorkflowSummary on Workflow @_unmask {
    id
    name
    status
    size
    createdAt
    finishedAt
    counts {
      status
      count
    }
  }
`);

/** A workflow's graph: its nodes with their tasks' state, and its edges. */
export const WorkflowQuery = graphql(
  `
    query Workflow($id: ID!) {
      workflow(id: $id) {
        ...WorkflowSummary
        nodes {
          key
          taskId
          task {
            id
            type
            status
          }
        }
        edges {
          from
          to
        }
      }
    }
  `,
  [WorkflowSummaryFields],
);

/** Workflows, newest first. */
export const WorkflowsQuery = graphql(
  `
    query Workflows($first: Int, $after: String) {
      workflows(first: $first, after: $after) {
        __typename
        ... on WorkflowConnection {
          endCursor
          nodes {
            ...WorkflowSummary
          }
        }
        ...ErrorFields
      }
    }
  `,
  [WorkflowSummaryFields, ErrorFields],
);

/** A workflow's node changes (deltas), after a cursor, then live. */
export const WorkflowSubscription = graphql(
  `
    subscription WorkflowNodes($id: ID!, $after: String) {
      workflow(id: $id, after: $after) {
        cursor
        key
        taskId
        kind
        status
        workflow {
          ...WorkflowSummary
        }
      }
    }
  `,
  [WorkflowSummaryFields],
);

/** A workflow's name, for links to it (a task's page). */
export const WorkflowNameQuery = graphql(`
  query WorkflowName($id: ID!) {
    workflow(id: $id) {
      id
      name
    }
  }
`);
