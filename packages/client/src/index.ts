export { type AlertEvent, alertHistory, alertRules, firingAlerts, watchAlerts } from './alerts';
export {
  createClient,
  type ResumableStream,
  type TaskEvent,
  type TaskEventStream,
  type TaskplaneClient,
} from './client';
export {
  ClientErrorCode,
  type ErrorResult,
  FORBIDDEN_CLOSE_CODE,
  type GraphQLErrorLike,
  isErrorResult,
  TaskplaneClientError,
  unwrap,
} from './errors';
export * from './generated/graphql';
export type { ClientOptions, Subscription, Transport, VariablesArg } from './transport';
