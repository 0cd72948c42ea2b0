import { apiUrl } from '$lib/api-url.server';
import type { LayoutServerLoad } from './$types';

// The browser talks to the API itself (fetch for queries, one WebSocket for subscriptions), so the
// server has nothing to render; it only hands over the API's address.
export const ssr = false;

export const load: LayoutServerLoad = () => ({ apiUrl: apiUrl() });
