import { env } from '$env/dynamic/private';

/** Where the API is when `TASKPLANE_API_URL` is unset: the API's default host and port. */
export const DEFAULT_API_URL = 'http://127.0.0.1:4000/graphql';

/**
 * The API's GraphQL endpoint, from `TASKPLANE_API_URL` (default {@link DEFAULT_API_URL}). Read at run
 * time, not build time, so one build serves against any API.
 *
 * @throws when the variable is set but is not an http(s) URL.
 */
export function apiUrl(): string {
  const value = env.TASKPLANE_API_URL || DEFAULT_API_URL;
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new Error(`TASKPLANE_API_URL must be an http(s) URL such as ${DEFAULT_API_URL}, got "${value}"`);
  }
  return value;
}
