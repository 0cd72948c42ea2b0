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
    description: 'A point in time, as an ISO 8601 string (UTC)',
    serialize: (value) => new Date(value as number | Date).toISOString(),
    parseValue: (value) => {
      const date = new Date(value as string);
      if (typeof value !== 'string' || Number.isNaN(date.getTime()))
        throw new GraphQLError('expected an ISO 8601 date-time');
      return date;
    },
    parseLiteral: (ast) => {
      const date = ast.kind === Kind.STRING ? new Date(ast.value) : new Date(Number.NaN);
      if (Number.isNaN(date.getTime())) throw new GraphQLError('expected an ISO 8601 date-time');
      return date;
    },
  }) as never,
);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
