import { graphql } from './graphql';

/**
 * The fields of every error result (`__typename` tells which error it is), and the field errors
 * when it is a `ValidationError`.
 */
export const ErrorFields = graphql(`
  fragment ErrorFields on Error @_unmask {
    __typename
    code
    message
    ... on ValidationError {
      fields {
        path
        message
      }
    }
  }
`);

/**
 * The `extensions.code` values the console acts on. They mirror `ErrorCode` in `@taskplane/core`,
 * which the console does not import: it would pull server-only modules into the browser bundle.
 */
export const ErrorCode = {
  NotFound: 'NOT_FOUND',
  CursorExpired: 'CURSOR_EXPIRED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Whether any of `errors` (as a subscription reports them) carries `code`. */
export function hasErrorCode(
  errors: readonly { extensions?: Record<string, unknown> }[],
  code: ErrorCode,
): boolean {
  return errors.some((error) => error.extensions?.code === code);
}

/** The messages of `errors`, for an alert. */
export function errorText(errors: readonly { message: string }[]): string {
  return errors.map((error) => error.message).join('; ');
}
