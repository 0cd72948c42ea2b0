import { type ChildProcess, spawn } from 'node:child_process';

import {
  CONSOLE_ENTRY as BUILD_ENTRY,
  buildConsole as buildBundle,
  CONSOLE_DIR,
  consoleBuildIsStale,
} from '../../scripts/console-build';

const LISTENING = /Listening on (http:\/\/\S+)/;

export interface StartConsoleOptions {
  /** GraphQL endpoint the console talks to (`TASKPLANE_API_URL`). */
  apiUrl: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
}

export interface ConsoleServer {
  /** Base URL of the running console, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Stops the server (SIGTERM to its PID) and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Runs the built console (`node apps/console/build/index.js`) on 127.0.0.1, building it first when
 * the build is missing or older than its sources, and resolves once it is listening.
 */
export async function startConsole({ apiUrl, port = 0 }: StartConsoleOptions): Promise<ConsoleServer> {
  await buildConsole();
  const child = spawn(process.execPath, [BUILD_ENTRY], {
    cwd: CONSOLE_DIR,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), TASKPLANE_API_URL: apiUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await listeningUrl(child);
  return { url, close: () => stop(child) };
}

/** Builds the console unless the build is up to date (shared with `pnpm start`). */
export async function buildConsole(): Promise<void> {
  if (!consoleBuildIsStale()) return;
  const output: string[] = [];
  await buildBundle((line) => output.push(line)).catch((error: Error) => {
    throw new Error(`${error.message}\n${output.join('\n')}`);
  });
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match) {
        child.off('exit', onExit);
        // Keep draining stdout, or a chatty server blocks once the pipe buffer fills.
        child.stdout?.off('data', onData).resume();
        resolve(match[1]!);
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`console exited with code ${code} before listening:\n${output}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', onExit);
  });
}

// adapter-node drains open requests on SIGTERM; a test should not wait long for that.
const STOP_GRACE_MS = 5_000;

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
