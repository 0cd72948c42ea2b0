import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header carrying a webhook body's signature: `t=<unix ms>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-taskplane-signature';

/** The HMAC-SHA256 (hex) of `<timestamp>.<body>` under `secret`: the timestamp is signed too, so a captured request cannot be replayed later with a new one. */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The `x-taskplane-signature` value for `body` sent at `timestamp` (epoch ms). */
export function signWebhook(secret: string, body: string, timestamp = Date.now()): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`;
}

/**
 * Whether `header` signs `body` under `secret` and was made within `toleranceMs` of `now`: what a
 * receiver checks before trusting a delivery (compare in constant time; reject old timestamps).
 */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | null | undefined,
  toleranceMs = 5 * 60_000,
  now = Date.now(),
): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isFinite(timestamp) || !parts.v1 || Math.abs(now - timestamp) > toleranceMs) return false;
  const expected = Buffer.from(signatureOf(secret, timestamp, body), 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
