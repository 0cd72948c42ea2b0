import type { ServerInit } from '@sveltejs/kit';
import { apiUrl } from '$lib/api-url.server';

// Checked once at start-up so a mistyped TASKPLANE_API_URL stops the server with a message instead
// of failing every page load.
export const init: ServerInit = () => {
  apiUrl();
};
