// `pnpm install` warned "There are cyclic workspace dependencies: packages/handlers, test" on every
// install: handlers' tests depended on the test package, which depended on handlers.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIRS = ['apps/api', 'apps/cli', 'apps/console', 'apps/worker', 'bench', 'test'].concat(
  ['client', 'core', 'events', 'handlers', 'queue'].map((name) => `packages/${name}`),
);

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function manifests(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const dir of DIRS) {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')) as Manifest;
    const deps = { ...manifest.dependencies, ...manifest.devDependencies };
    graph.set(
      manifest.name,
      Object.entries(deps)
        .filter(([, version]) => version.startsWith('workspace:'))
        .map(([name]) => name),
    );
  }
  return graph;
}

/** The first cycle found, as the names along it, or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'open') return [...trail.slice(trail.indexOf(name)), name];
    state.set(name, 'open');
    trail.push(name);
    for (const next of graph.get(name) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    trail.pop();
    state.set(name, 'done');
    return null;
  };
  for (const name of graph.keys()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return null;
}

describe('workspace dependencies', () => {
  it('form no cycle, counting devDependencies as pnpm does', () => {
    const graph = manifests();
    expect(graph.get('@taskplane/handlers')).toContain('@taskplane/test');
    expect(findCycle(graph)).toBeNull();
  });
});
