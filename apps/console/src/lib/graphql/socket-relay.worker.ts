/**
 * Owns the console's one WebSocket to the API off the main thread (see `relayed-web-socket.ts`):
 * frames are gathered and posted to the page in batches, so a fast event stream costs the page a
 * task per batch rather than a task per event. The frames are relayed as they came, unparsed.
 */
import { type FromSocket, RELAY_BATCH_MS, type ToSocket } from './socket-relay';

// The worker's own scope, typed by hand: the project's lib is the DOM's, not WebWorker's.
declare const self: {
  postMessage(message: FromSocket): void;
  onmessage: ((event: MessageEvent<ToSocket>) => void) | null;
  close(): void;
};

let socket: WebSocket | null = null;
let batch: string[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
let lastPost = 0;

function post(message: FromSocket): void {
  self.postMessage(message);
}

function flush(): void {
  timer = undefined;
  if (batch.length === 0) return;
  lastPost = performance.now();
  const data = batch;
  batch = [];
  post({ type: 'messages', data });
}

self.onmessage = ({ data: message }: MessageEvent<ToSocket>) => {
  if (message.type === 'open') {
    const ws = new WebSocket(message.url, message.protocols);
    socket = ws;
    ws.onopen = () => post({ type: 'open', protocol: ws.protocol });
    ws.onmessage = ({ data }: MessageEvent<string>) => {
      batch.push(data);
      if (timer !== undefined) return;
      const wait = lastPost + RELAY_BATCH_MS - performance.now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    };
    ws.onerror = () => post({ type: 'error' });
    ws.onclose = ({ code, reason, wasClean }) => {
      // Frames received before the close go first, as they would on the page's own socket.
      clearTimeout(timer);
      flush();
      post({ type: 'close', code, reason, wasClean });
      self.close();
    };
  } else if (message.type === 'send') {
    socket?.send(message.data);
  } else {
    socket?.close(message.code, message.reason);
  }
};
