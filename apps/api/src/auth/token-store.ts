import { randomBytes } from 'node:crypto';
import { type Keys, NotFoundError } from '@taskplane/core';
import type { Redis } from 'ioredis';
import { hashToken, newToken, type Role, type TokenRecord } from './tokens';

const CACHE_MS = 5000;

/**
 * API tokens in Redis, hashed: a leaked Redis dump does not leak tokens. Lookups are cached for a
 * few seconds per process; a revoked token stops working everywhere within that time.
 */
export class TokenStore {
  private readonly cache = new Map<string, { record: TokenRecord | null; until: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** Accepted as admin without a record (development bootstrap); null = none. */
    private readonly bootstrapToken: string | null,
  ) {}

  async verify(token: string | null): Promise<TokenRecord | null> {
    if (!token) return null;
    if (this.bootstrapToken && token === this.bootstrapToken) {
      return {
        id: 'bootstrap',
        name: 'bootstrap admin',
        role: 'admin',
        createdAt: 0,
        lastUsedAt: null,
        revokedAt: null,
      };
    }
    const hash = hashToken(token);
    const cached = this.cache.get(hash);
    if (cached && cached.until > Date.now()) return cached.record;
    const text = await this.redis.hget(this.keys.tokens, hash);
    const parsed = text ? (JSON.parse(text) as TokenRecord) : null;
    const record = parsed && parsed.revokedAt === null ? parsed : null;
    this.cache.set(hash, { record, until: Date.now() + CACHE_MS });
    return record;
  }

  /** Create a token; the secret is returned once and never stored. */
  async create(name: string, role: Role): Promise<{ token: string; record: TokenRecord }> {
    const token = newToken();
    const record: TokenRecord = {
      id: `tok_${randomBytes(6).toString('hex')}`,
      name,
      role,
      createdAt: Date.now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.redis.hset(this.keys.tokens, hashToken(token), JSON.stringify(record));
    return { token, record };
  }

  async list(): Promise<TokenRecord[]> {
    const all = await this.redis.hvals(this.keys.tokens);
    return all.map((text) => JSON.parse(text) as TokenRecord).sort((a, b) => a.createdAt - b.createdAt);
  }

  async revoke(id: string): Promise<TokenRecord> {
    const entries = await this.redis.hgetall(this.keys.tokens);
    for (const [hash, text] of Object.entries(entries)) {
      const record = JSON.parse(text) as TokenRecord;
      if (record.id !== id) continue;
      const revoked = { ...record, revokedAt: record.revokedAt ?? Date.now() };
      await this.redis.hset(this.keys.tokens, hash, JSON.stringify(revoked));
      this.cache.delete(hash);
      return revoked;
    }
    throw new NotFoundError(`no token with id ${id}`);
  }
}
