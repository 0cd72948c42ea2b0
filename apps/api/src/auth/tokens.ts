import { createHash, randomBytes } from 'node:crypto';

/** Roles, each including the one before it. Wire-level values. */
export const Role = { Viewer: 'viewer', Operator: 'operator', Admin: 'admin' } as const;
export type Role = (typeof Role)[keyof typeof Role];

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function hasRole(actual: Role | null, needed: Role): boolean {
  return actual !== null && RANK[actual] >= RANK[needed];
}

/** A token as stored: never the token itself, only its hash. */
export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** A new secret token: `tp_` and 32 random bytes, URL-safe. */
export function newToken(): string {
  return `tp_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The bearer token of an `Authorization` header value, or null. */
export function bearer(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1]! : null;
}
