import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The console app and the entry of its adapter-node build. */
export const CONSOLE_DIR = fileURLToPath(new URL('../apps/console/', import.meta.url));
export const CONSOLE_ENTRY = path.join(CONSOLE_DIR, 'build', 'index.js');

/**
 * What the build is made from (relative to apps/console); a change to any of these makes the build
 * stale. The console bundles `@taskplane/client` from its sources.
 */
const SOURCES = [
  'src',
  'static',
  'package.json',
  'svelte.config.js',
  'vite.config.ts',
  '../../packages/client/src',
  '../../packages/client/package.json',
];

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Is `apps/console/build` missing or older than any of its sources? */
export function consoleBuildIsStale(): boolean {
  const built = mtime(CONSOLE_ENTRY);
  if (built === 0) return true;
  return SOURCES.some((source) => {
    const root = path.join(CONSOLE_DIR, source);
    let files = [root];
    try {
      files = readdirSync(root, { recursive: true, encoding: 'utf8' }).map((entry) => path.join(root, entry));
    } catch {
      // Not a directory (or absent): the path itself is the source.
    }
    return files.some((file) => mtime(file) > built);
  });
}

/**
 * Run `vite build` in apps/console with this node (not through a pnpm wrapper, so Ctrl-C reaches
 * the process doing the work). Each output line goes to `onLine`; rejects when the build fails.
 */
export function buildConsole(onLine: (line: string) => void): Promise<void> {
  const vite = path.join(CONSOLE_DIR, 'node_modules', 'vite', 'bin', 'vite.js');
  const child = spawn(process.execPath, [vite, 'build'], {
    cwd: CONSOLE_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const input of [child.stdout, child.stderr]) createInterface({ input }).on('line', onLine);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`console build failed (${signal ?? `exit code ${code}`})`)),
    );
  });
}
