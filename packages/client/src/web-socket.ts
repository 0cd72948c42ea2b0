import WebSocket from 'ws';

/**
 * The WebSocket the transport opens by default in Node: `ws`, since Node 20 has no global
 * WebSocket. Browsers resolve `#web-socket` to `web-socket.browser.ts` instead (package.json
 * `imports`), so the console's bundle carries no `ws`.
 */
export const DefaultWebSocket: unknown = WebSocket;
