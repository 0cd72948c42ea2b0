import {
  ConflictError,
  CursorExpiredError,
  type FieldError,
  ForbiddenError,
  NotFoundError,
  type TaskplaneError,
  UnauthenticatedError,
  ValidationError,
} from '@taskplane/core';
import { builder } from '../builder';

/** What every expected failure has: a stable code and a message. */
export const ErrorInterface = builder.interfaceRef<TaskplaneError>('Error').implement({
  description: 'An expected failure, returned as data',
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code', {
      description: 'Stable machine-readable code (VALIDATION, NOT_FOUND, ...)',
    }),
  }),
});

export const FieldErrorRef = builder.objectRef<FieldError>('FieldError').implement({
  description: 'A problem with one input field',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Dotted path to the field, e.g. params.urls.2' }),
    message: t.exposeString('message'),
  }),
});

export const ValidationErrorRef = builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  // Items of a bulk result carry it as plain data (an Error in a list would fail the list).
  isTypeOf: (value) =>
    value instanceof ValidationError ||
    (value as { isValidationError?: boolean } | null)?.isValidationError === true,
  fields: (t) => ({ fields: t.field({ type: [FieldErrorRef], resolve: (error) => error.fields }) }),
});

for (const [ErrorClass, name] of [
  [NotFoundError, 'NotFoundError'],
  [ConflictError, 'ConflictError'],
  [ForbiddenError, 'ForbiddenError'],
  [UnauthenticatedError, 'UnauthenticatedError'],
  [CursorExpiredError, 'CursorExpiredError'],
] as const) {
  builder.objectType(ErrorClass as typeof TaskplaneError, {
    name,
    interfaces: [ErrorInterface],
    isTypeOf: (value) => value instanceof ErrorClass,
    fields: () => ({}),
  });
}

/** The errors a guarded operation can return besides its own. */
export const AUTH_ERRORS = [ForbiddenError, UnauthenticatedError];
