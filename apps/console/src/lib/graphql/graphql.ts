import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env';

/**
 * Tags a GraphQL document and types its result and variables from `apps/api/schema.graphql` (through
 * the generated `graphql-env.d.ts`; `pnpm graphql:env` regenerates it, `pnpm check` fails when stale).
 * Masking is off: fragments here only share field lists, they do not hide data from components.
 */
export const graphql = initGraphQLTada<{
  introspection: introspection;
  disableMasking: true;
  scalars: { DateTime: string; JSON: unknown };
}>();

export type { ResultOf, VariablesOf } from 'gql.tada';
