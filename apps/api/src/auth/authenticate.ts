import { UnauthenticatedError } from '@taskplane/core';
import type { TokenStore } from './token-store';
import { bearer, type Role, type TokenRecord } from './tokens';

export interface Caller {
  token: TokenRecord | null;
  role: Role | null;
}

/**
 * The caller of a request or socket. No token: anonymous (only public fields answer). A token that
 * is not valid: refused outright, so a typo never looks like "no access".
 */
export async function authenticate(
  tokens: TokenStore,
  authorization: string | null | undefined,
): Promise<Caller> {
  if (!authorization) return { token: null, role: null };
  const secret = bearer(authorization);
  const token = secret ? await tokens.verify(secret) : null;
  if (!token)
    throw new UnauthenticatedError('the API token is not valid (revoked, mistyped, or not a Bearer token)');
  return { token, role: token.role };
}
