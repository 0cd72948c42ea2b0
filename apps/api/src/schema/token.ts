import { NotFoundError, ValidationError } from '@taskplane/core';
import { Role, type TokenRecord } from '../auth/tokens';
import { builder } from '../builder';
import { AUTH_ERRORS } from './errors';

const RoleEnum = builder.enumType('Role', {
  values: {
    VIEWER: { value: Role.Viewer },
    OPERATOR: { value: Role.Operator },
    ADMIN: { value: Role.Admin },
  } as const,
});

const ApiTokenRef = builder.objectRef<TokenRecord>('ApiToken').implement({
  description: 'An API token (its secret is shown once, at creation)',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    role: t.field({ type: RoleEnum, resolve: (r) => r.role }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.revokedAt }),
  }),
});

const CreatedTokenRef = builder
  .objectRef<{ token: string; record: TokenRecord }>('CreatedApiToken')
  .implement({
    fields: (t) => ({
      secret: t.string({
        description: 'Send as `Authorization: Bearer <secret>`; not retrievable later',
        resolve: (c) => c.token,
      }),
      token: t.field({ type: ApiTokenRef, resolve: (c) => c.record }),
    }),
  });

const ViewerRef = builder.objectRef<TokenRecord>('Viewer').implement({
  description: 'Who the caller is',
  fields: (t) => ({
    tokenId: t.exposeID('id'),
    name: t.exposeString('name'),
    role: t.field({ type: RoleEnum, resolve: (r) => r.role }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    nullable: true,
    description: 'The caller’s token and role; null without a valid token',
    resolve: (_root, _args, ctx) => ctx.token,
  }),
);

builder.queryField('apiTokens', (t) =>
  t.field({
    type: [ApiTokenRef],
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.tokens.list(),
  }),
);

builder.mutationField('createApiToken', (t) =>
  t.field({
    type: CreatedTokenRef,
    authScopes: { admin: true },
    errors: { types: [ValidationError, ...AUTH_ERRORS], directResult: true },
    args: { name: t.arg.string({ required: true }), role: t.arg({ type: RoleEnum, required: true }) },
    resolve: (_root, args, ctx) => {
      const name = args.name.trim();
      if (!name || name.length > 100)
        throw new ValidationError('a token needs a name of 1-100 characters', [
          { path: 'name', message: '1-100 characters' },
        ]);
      return ctx.tokens.create(name, args.role);
    },
  }),
);

builder.mutationField('revokeApiToken', (t) =>
  t.field({
    type: ApiTokenRef,
    authScopes: { admin: true },
    errors: { types: [NotFoundError, ...AUTH_ERRORS], directResult: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.tokens.revoke(String(args.id)),
  }),
);
