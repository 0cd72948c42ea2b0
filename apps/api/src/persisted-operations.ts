import { readFileSync } from 'node:fs';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { ConfigError, type TaskplaneConfig } from '@taskplane/core';
import type { Plugin } from 'graphql-yoga';

/** The persisted operations of `api.persisted_operations`, read once at start-up. */
export function loadPersistedOperations(config: TaskplaneConfig): Map<string, string> | null {
  const file = config.api.persisted_operations;
  if (!file) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `api.persisted_operations: cannot read ${file} as JSON: ${(error as Error).message}`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw new ConfigError(`api.persisted_operations: ${file} must map operation ids to GraphQL documents`);
  }
  return new Map(Object.entries(parsed as Record<string, string>));
}

/** Over HTTP: run persisted operations by hash; with `persisted_only`, nothing else. */
export function persistedOperationsPlugin(operations: Map<string, string>, persistedOnly: boolean): Plugin {
  return usePersistedOperations({
    getPersistedOperation: (key) => operations.get(key) ?? null,
    allowArbitraryOperations: !persistedOnly,
  }) as Plugin;
}

/**
 * Over WebSocket (graphql-ws runs documents itself): the document a subscribe message asks for,
 * or an error message when it is not allowed.
 */
export function resolveOperation(
  operations: Map<string, string> | null,
  persistedOnly: boolean,
  payload: { query?: string; extensions?: Record<string, unknown> | null },
): { query: string } | { error: string } {
  const hash = (payload.extensions?.persistedQuery as { sha256Hash?: string } | undefined)?.sha256Hash;
  if (hash && operations) {
    const query = operations.get(hash);
    return query ? { query } : { error: 'PersistedQueryNotFound' };
  }
  if (operations && persistedOnly) return { error: 'PersistedQueryOnly' };
  return payload.query
    ? { query: payload.query }
    : { error: 'a document or a persisted operation id is required' };
}
