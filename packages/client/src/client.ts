import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  ApiTokensDocument,
  BulkOperationDocument,
  BulkOperationProgressDocument,
  CancelBulkOperationDocument,
  CancelTaskDocument,
  CancelTasksDocument,
  type CancelTasksMutationVariables,
  CleanQueueDocument,
  type CleanQueueMutationVariables,
  CreateApiTokenDocument,
  CreateScheduleDocument,
  type CreateScheduleInput,
  DeadLettersDocument,
  type DeadLettersQueryVariables,
  DeleteScheduleDocument,
  EventCursorDocument,
  HealthDocument,
  PauseQueueDocument,
  PauseScheduleDocument,
  PurgeDeadLettersDocument,
  QueueDocument,
  QueueStatsDocument,
  QueuesDocument,
  RedisMemoryDocument,
  RepairDocument,
  RequeueDeadLettersDocument,
  type RequeueDeadLettersMutationVariables,
  ResumeQueueDocument,
  ResumeScheduleDocument,
  RetryTaskDocument,
  RevokeApiTokenDocument,
  type Role,
  ScheduleDocument,
  ScheduleEventsDocument,
  SchedulesDocument,
  type SchedulesQueryVariables,
  SetQueueConcurrencyDocument,
  type SetQueueConcurrencyMutationVariables,
  SetQueueRateLimitDocument,
  type SetQueueRateLimitMutationVariables,
  SubmitTaskDocument,
  type SubmitTaskInput,
  SubmitTasksDocument,
  SubmitWorkflowDocument,
  TaskDocument,
  TaskEventsDocument,
  type TaskEventsSubscription,
  type TaskEventsSubscriptionVariables,
  TasksDocument,
  type TasksQueryVariables,
  TaskTypesDocument,
  TaskUpdatesDocument,
  TriggerScheduleDocument,
  UpdateScheduleDocument,
  type UpdateScheduleInput,
  ViewerDocument,
  WorkerChangesDocument,
  WorkersDocument,
  WorkflowDocument,
  WorkflowEventsDocument,
  type WorkflowEventsSubscription,
  type WorkflowNodeInput,
  WorkflowsDocument,
  type WorkflowsQueryVariables,
} from './generated/graphql';
import { type ClientOptions, createTransport, type Subscription, type Transport } from './transport';

/** One event of `watchTaskEvents`. */
export type TaskEvent = TaskEventsSubscription['taskEvents'];

/** A subscription of cursored events that resumes after the last one it received. */
export interface ResumableStream<T> extends Subscription<T> {
  /** The cursor of the last event received: resume from it with `after`. */
  readonly lastCursor: string | null;
}

/** What `watchTaskEvents` yields, plus where it stands. */
export type TaskEventStream = ResumableStream<TaskEvent>;

/**
 * The one resume path of the client's cursored subscriptions: the variables are kept by reference
 * by the transport, and `after` follows each event received, so the re-subscription graphql-ws
 * sends when it reopens a dropped socket asks for what follows the last event, not the first
 * `after` again (which would repeat events).
 */
export function resumable<R, V extends { after?: string | null }, T>(
  transport: Transport,
  document: TypedDocumentNode<R, V>,
  variables: V,
  pick: (data: R) => T,
  cursorOf: (data: R) => string,
): ResumableStream<T> {
  const live: V = { ...variables };
  const events = transport.subscribeWith(document, live, (data) => {
    live.after = cursorOf(data);
  });
  const stream: ResumableStream<T> = {
    get lastCursor() {
      return live.after ?? null;
    },
    next: async () => {
      const result = await events.next();
      return result.done ? result : { done: false, value: pick(result.value) };
    },
    return: async () => {
      events.close();
      return { done: true, value: undefined };
    },
    close: events.close,
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}

/** Every query, mutation and subscription of the API as one method each, plus the raw transport. */
export type TaskplaneClient = ReturnType<typeof createClient>;

/**
 * A typed client for programs and bots. Queries and mutations go over HTTP POST; subscriptions share
 * one WebSocket, opened on first use and reopened when it drops. Union results (`... | ValidationError`)
 * are returned as data (check `__typename`, or `unwrap`); GraphQL errors throw `TaskplaneClientError`.
 */
export function createClient(options: ClientOptions) {
  const transport: Transport = createTransport(options);
  const { request, subscribe } = transport;

  return {
    ...transport,

    health: async () => (await request(HealthDocument)).health,
    viewer: async () => (await request(ViewerDocument)).viewer,
    /** The newest event cursor: read state, then `watchTaskEvents({ after })` to miss nothing. */
    eventCursor: async () => (await request(EventCursorDocument)).eventCursor,
    taskTypes: async () => (await request(TaskTypesDocument)).taskTypes,
    /** One task with its attempts, logs, parent and children; null when there is none. */
    task: async (id: string) => (await request(TaskDocument, { id })).task,
    tasks: async (variables: TasksQueryVariables = {}) => (await request(TasksDocument, variables)).tasks,
    queues: async () => (await request(QueuesDocument)).queues,
    queue: async (name: string) => (await request(QueueDocument, { name })).queue,
    workers: async () => (await request(WorkersDocument)).workers,
    deadLetters: async (variables: DeadLettersQueryVariables = {}) =>
      (await request(DeadLettersDocument, variables)).deadLetters,
    bulkOperation: async (id: string) => (await request(BulkOperationDocument, { id })).bulkOperation,
    apiTokens: async () => (await request(ApiTokensDocument)).apiTokens,
    schedules: async (variables: SchedulesQueryVariables = {}) =>
      (await request(SchedulesDocument, variables)).schedules,
    /** One schedule with its next runs, recent ticks and tasks; null when there is none. */
    schedule: async (id: string, runs = 5) => (await request(ScheduleDocument, { id, runs })).schedule,
    createSchedule: async (input: CreateScheduleInput) =>
      (await request(CreateScheduleDocument, { input })).createSchedule,
    updateSchedule: async (id: string, input: UpdateScheduleInput) =>
      (await request(UpdateScheduleDocument, { id, input })).updateSchedule,
    pauseSchedule: async (id: string) => (await request(PauseScheduleDocument, { id })).pauseSchedule,
    resumeSchedule: async (id: string) => (await request(ResumeScheduleDocument, { id })).resumeSchedule,
    deleteSchedule: async (id: string) => (await request(DeleteScheduleDocument, { id })).deleteSchedule,
    triggerSchedule: async (id: string) => (await request(TriggerScheduleDocument, { id })).triggerSchedule,

    submitTask: async (input: SubmitTaskInput) => (await request(SubmitTaskDocument, { input })).submitTask,
    submitTasks: async (inputs: SubmitTaskInput[]) =>
      (await request(SubmitTasksDocument, { inputs })).submitTasks,
    cancelTask: async (id: string, reason?: string) =>
      (await request(CancelTaskDocument, { id, reason: reason ?? null })).cancelTask,
    retryTask: async (id: string) => (await request(RetryTaskDocument, { id })).retryTask,
    cancelTasks: async (variables: CancelTasksMutationVariables) =>
      (await request(CancelTasksDocument, variables)).cancelTasks,
    cleanQueue: async (variables: CleanQueueMutationVariables) =>
      (await request(CleanQueueDocument, variables)).cleanQueue,
    requeueDeadLetters: async (variables: RequeueDeadLettersMutationVariables = {}) =>
      (await request(RequeueDeadLettersDocument, variables)).requeueDeadLetters,
    purgeDeadLetters: async (variables: RequeueDeadLettersMutationVariables = {}) =>
      (await request(PurgeDeadLettersDocument, variables)).purgeDeadLetters,
    cancelBulkOperation: async (id: string) =>
      (await request(CancelBulkOperationDocument, { id })).cancelBulkOperation,
    pauseQueue: async (name: string) => (await request(PauseQueueDocument, { name })).pauseQueue,
    resumeQueue: async (name: string) => (await request(ResumeQueueDocument, { name })).resumeQueue,
    setQueueConcurrency: async (variables: SetQueueConcurrencyMutationVariables) =>
      (await request(SetQueueConcurrencyDocument, variables)).setQueueConcurrency,
    setQueueRateLimit: async (variables: SetQueueRateLimitMutationVariables) =>
      (await request(SetQueueRateLimitDocument, variables)).setQueueRateLimit,
    createApiToken: async (name: string, role: Role) =>
      (await request(CreateApiTokenDocument, { name, role })).createApiToken,
    /** A workflow with its nodes (and their tasks) and edges, or null. */
    workflow: async (id: string) => (await request(WorkflowDocument, { id })).workflow,
    workflows: async (variables: WorkflowsQueryVariables = {}) =>
      (await request(WorkflowsDocument, variables)).workflows,
    /** Submit a DAG of tasks, all or none; nodes refer to each other by key. */
    submitWorkflow: async (name: string, nodes: WorkflowNodeInput[]) =>
      (await request(SubmitWorkflowDocument, { name, nodes })).submitWorkflow,
    revokeApiToken: async (id: string) => (await request(RevokeApiTokenDocument, { id })).revokeApiToken,
    /** Redis memory use against its limit (viewer). */
    redisMemory: async () => (await request(RedisMemoryDocument, {})).redisMemory,
    /** One bounded step of a repair walk (admin): pass the returned cursor as `after` until it is null. */
    repair: async (dryRun: boolean, after: string | null = null) =>
      (await request(RepairDocument, { dryRun, after })).repair,

    /**
     * Task events matching the filter, live. Each event's cursor is remembered; when the socket
     * drops, the re-subscription asks for everything after it, so nothing is missed or repeated.
     * Without `after` it starts live; pass `after: "0"` for everything the log keeps.
     */
    watchTaskEvents: (variables: TaskEventsSubscriptionVariables = {}): TaskEventStream =>
      resumable(
        transport,
        TaskEventsDocument,
        variables,
        (data) => data.taskEvents,
        (data) => data.taskEvents.cursor,
      ),
    /** The task now, then again every time it changes. */
    watchTask: (id: string) => subscribe(TaskUpdatesDocument, { id }),
    /** The bulk operation now, then its progress until it ends. */
    watchBulkOperation: (id: string) => subscribe(BulkOperationProgressDocument, { id }),
    watchQueueStats: (names?: string[]) => subscribe(QueueStatsDocument, { names: names ?? null }),
    watchWorkers: () => subscribe(WorkerChangesDocument),
    /**
     * Changes of a workflow's nodes, one event per change (after `after`, then live). Resumes like
     * `watchTaskEvents`: a re-subscription after a dropped socket asks for what follows the last
     * event received, not the original `after`.
     */
    watchWorkflow: (id: string, after?: string): ResumableStream<WorkflowEventsSubscription> =>
      resumable(
        transport,
        WorkflowEventsDocument,
        { id, after: after ?? null },
        (data) => data,
        (data) => data.workflow.cursor,
      ),
    /** Schedules created, updated, deleted, fired and skipped, live (all, or one schedule's). */
    watchSchedules: (scheduleId?: string) =>
      subscribe(ScheduleEventsDocument, { scheduleId: scheduleId ?? null }),
  };
}
