import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { ForbiddenError, UnauthenticatedError } from '@taskplane/core';
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { hasRole } from './auth/tokens';
import type { Context } from './context';

/** The builder: plugins, scalars and auth scopes. Types live in `schema/`, one domain per file. */
export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: { viewer: boolean; operator: boolean; admin: boolean };
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: number };
  };
  DefaultFieldNullability: false;
}>({
  // The errors plugin comes first so that authorization failures become typed results too.
  plugins: [ErrorsPlugin, ScopeAuthPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [] },
  scopeAuth: {
    // Subscriptions are authorized once, when they start, not per event: an unauthorized one is
    // refused instead of left open.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      viewer: hasRole(ctx.role, 'viewer'),
      operator: hasRole(ctx.role, 'operator'),
      admin: hasRole(ctx.role, 'admin'),
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.role === null
        ? new UnauthenticatedError()
        : new ForbiddenError(`the ${ctx.role} role may not do this`),
  },
});

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An ISO 8601 date-time with a zone, refused unless every part is in range: `new Date` alone rolls
 * 2026-02-30 over to March 2nd, which would quietly schedule a task two days late.
 */
function parseDateTime(value: unknown): Date {
  const match = typeof value === 'string' ? ISO_DATE_TIME.exec(value) : null;
  const date = match ? new Date(value as string) : new Date(Number.NaN);
  if (match) {
    const [, y, mo, d, h, mi, sec] = match.map(Number) as number[];
    const daysInMonth = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
    const inRange =
      mo! >= 1 &&
      mo! <= 12 &&
      d! >= 1 &&
      d! <= daysInMonth &&
      h! <= 23 &&
      mi! <= 59 &&
      (Number.isNaN(sec!) || sec! <= 59);
    if (inRange && !Number.isNaN(date.getTime())) return date;
  }
  throw new GraphQLError(
    `expected an ISO 8601 date-time with a time zone, such as 2026-11-28T14:03:09Z; got ${JSON.stringify(value)?.slice(0, 60)}`,
  );
}

function parseLiteralJson(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(parseLiteralJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, parseLiteralJson(f.value)]));
    default:
      throw new GraphQLError('variables are not allowed inside JSON literals');
  }
}

builder.addScalarType(
  'JSON',
  new GraphQLScalarType({
    name: 'JSON',
    description: 'Any JSON value',
    serialize: (value) => value,
    parseValue: (value) => value,
    parseLiteral: parseLiteralJson,
  }),
);

builder.addScalarType(
  'DateTime',
  new GraphQLScalarType<Date, string>({
    name: 'DateTime',
    description:
      'A point in time, as an ISO 8601 string with a time zone (2026-11-28T14:03:09Z or +08:00); impossible dates such as 2026-02-30 are refused',
    serialize: (value) => new Date(value as number | Date).toISOString(),
    parseValue: (value) => parseDateTime(value),
    parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
  }) as never,
);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
