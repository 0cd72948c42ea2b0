export type { ResultOf, VariablesOf } from '@graphql-typed-document-node/core';
export { type AlertEvent, alertHistory, alertRules, firingAlerts, watchAlerts } from './alerts';
export {
  createClient,
  type TaskEvent,
  type TaskEventStream,
  type TaskplaneClient,
} from './client';
export {
  ApiErrorCode,
  ClientErrorCode,
  type ErrorResult,
  FORBIDDEN_CLOSE_CODE,
  type GraphQLErrorLike,
  isErrorResult,
  TaskplaneClientError,
  unwrap,
} from './errors';
export * from './generated/graphql';
export {
  type CursorFollow,
  type FollowCursorOptions,
  followCursor,
  type ResumableStream,
  resumable,
} from './resume';
export {
  type ClientOptions,
  type ConnectionListener,
  createTransport,
  type LiveSink,
  type Subscription,
  type Transport,
  type VariablesArg,
} from './transport';
