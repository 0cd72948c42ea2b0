/** The browser's own WebSocket (see `web-socket.ts` for Node). */
export const DefaultWebSocket: unknown = (globalThis as { WebSocket?: unknown }).WebSocket;
