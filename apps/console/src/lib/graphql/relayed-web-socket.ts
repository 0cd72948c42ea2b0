import type { FromSocket, ToSocket } from './socket-relay';

type Listener<E extends Event> = ((event: E) => void) | null;

/**
 * A WebSocket whose connection lives in a dedicated worker (`socket-relay.worker.ts`), for
 * graphql-ws (`webSocketImpl`): the part of the browser's WebSocket API that graphql-ws uses
 * (`readyState`, `protocol`, `send`, `close`, the `on*` handlers and the state constants).
 *
 * Why: at a thousand events a second, each event on the page's own socket is a main-thread task of
 * its own (about a third of the Tasks page's main thread in a trace of `bench/console.ts`), and on
 * a busy machine those tasks crowd the frames into long tasks. The worker posts what arrived about
 * every 16 ms instead, and the page hands each frame to graphql-ws in order, in one task. The
 * protocol, resume and cursors stay where they are: graphql-ws and `@taskplane/client` still run
 * here and see every frame, unchanged and in order.
 */
export class RelayedWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  readonly url: string;
  readyState: number = RelayedWebSocket.CONNECTING;
  protocol = '';
  onopen: Listener<Event> = null;
  onmessage: Listener<MessageEvent<string>> = null;
  onerror: Listener<Event> = null;
  onclose: Listener<CloseEvent> = null;

  readonly #worker: Worker;

  constructor(url: string | URL, protocols?: string | string[]) {
    this.url = String(url);
    this.#worker = new Worker(new URL('./socket-relay.worker.ts', import.meta.url), { type: 'module' });
    this.#worker.onmessage = ({ data }: MessageEvent<FromSocket>) => this.#receive(data);
    this.#worker.onerror = () => {
      // The worker itself failed (it could not load): the socket is as good as closed.
      this.#receive({ type: 'error' });
      this.#receive({ type: 'close', code: 1006, reason: '', wasClean: false });
    };
    this.#post({ type: 'open', url: this.url, protocols });
  }

  send(data: string): void {
    if (this.readyState === RelayedWebSocket.CONNECTING)
      throw new DOMException('WebSocket is still in CONNECTING state', 'InvalidStateError');
    if (this.readyState !== RelayedWebSocket.OPEN) return;
    this.#post({ type: 'send', data });
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= RelayedWebSocket.CLOSING) return;
    this.readyState = RelayedWebSocket.CLOSING;
    this.#post({ type: 'close', code, reason });
  }

  #post(message: ToSocket): void {
    this.#worker.postMessage(message);
  }

  #receive(message: FromSocket): void {
    if (this.readyState === RelayedWebSocket.CLOSED) return;
    switch (message.type) {
      case 'open':
        this.readyState = RelayedWebSocket.OPEN;
        this.protocol = message.protocol;
        this.onopen?.(new Event('open'));
        break;
      case 'messages':
        // In order, each as its own event; a handler may close the socket or drop itself midway.
        for (const data of message.data) {
          if (this.readyState === RelayedWebSocket.CLOSED) break;
          this.onmessage?.(new MessageEvent('message', { data }));
        }
        break;
      case 'error':
        this.onerror?.(new Event('error'));
        break;
      case 'close': {
        this.readyState = RelayedWebSocket.CLOSED;
        this.#worker.terminate();
        const { code, reason, wasClean } = message;
        this.onclose?.(new CloseEvent('close', { code, reason, wasClean }));
        break;
      }
    }
  }
}

/** The WebSocket the console's transport opens: relayed through a worker where workers exist. */
export function consoleWebSocket(): unknown {
  return typeof Worker === 'function' ? RelayedWebSocket : globalThis.WebSocket;
}
