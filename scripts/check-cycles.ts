/**
 * `pnpm check:cycles`: fails when workspace packages import each other in a cycle, or when a
 * package under packages/ imports an app under apps/ (STYLE.md: apps depend on packages, never the
 * reverse). Works at package level from the `@taskplane/*` specifiers in each package's sources.
 *
 * Cycles count only imports from non-test files: a package's tests may use the test package
 * (fixtures, helpers) that in turn drives the package, without a build-order cycle. Imports of
 * apps from packages are refused from every file, tests included.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKSPACE_GLOBS = ['apps', 'packages', 'test'];
const SOURCE_FILE = /\.(?:[cm]?[jt]sx?|svelte)$/;
const TEST_FILE = /\.(?:test|spec)\.[cm]?[jt]sx?$/;
const SKIPPED_DIRS = new Set(['node_modules', 'build', 'dist', '.svelte-kit']);
/** `from '@taskplane/x'`, `import '@taskplane/x/sub'`, `import('@taskplane/x')`, `require(...)`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](@taskplane\/[^/'"]+)/g;

interface Workspace {
  name: string;
  dir: string;
  kind: 'app' | 'package' | 'test';
}

function workspaces(): Workspace[] {
  const found: Workspace[] = [];
  for (const group of WORKSPACE_GLOBS) {
    const base = path.join(ROOT, group);
    const dirs = group === 'test' ? [base] : readdirSync(base).map((entry) => path.join(base, entry));
    for (const dir of dirs) {
      const manifest = path.join(dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string };
      found.push({ name, dir, kind: group === 'apps' ? 'app' : group === 'packages' ? 'package' : 'test' });
    }
  }
  return found;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED_DIRS.has(entry.name)) continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(file);
    else if (SOURCE_FILE.test(entry.name)) yield file;
  }
}

/** Each imported workspace name with the first file that imports it. */
function importsOf(workspace: Workspace, includeTests: boolean): Map<string, string> {
  const src = path.join(workspace.dir, 'src');
  const imports = new Map<string, string>();
  for (const file of sourceFiles(existsSync(src) ? src : workspace.dir)) {
    if (!includeTests && TEST_FILE.test(file)) continue;
    for (const [, name] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      if (name !== workspace.name && !imports.has(name!)) imports.set(name!, path.relative(ROOT, file));
    }
  }
  return imports;
}

/** Every elementary cycle reachable in `graph`, each once, as a list of names. */
function findCycles(graph: Map<string, Map<string, string>>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const stack: string[] = [];
  const visit = (node: string) => {
    const at = stack.indexOf(node);
    if (at >= 0) {
      const cycle = stack.slice(at);
      // Rotate so the same cycle found from another start prints once.
      const first = cycle.indexOf([...cycle].sort()[0]!);
      const key = [...cycle.slice(first), ...cycle.slice(0, first)].join(' -> ');
      if (!seen.has(key)) {
        seen.add(key);
        cycles.push([...cycle, node]);
      }
      return;
    }
    stack.push(node);
    for (const next of graph.get(node)?.keys() ?? []) if (graph.has(next)) visit(next);
    stack.pop();
  };
  for (const node of graph.keys()) visit(node);
  return cycles;
}

const all = workspaces();
const byName = new Map(all.map((workspace) => [workspace.name, workspace]));
const problems: string[] = [];

const graph = new Map(all.map((workspace) => [workspace.name, importsOf(workspace, false)]));
for (const cycle of findCycles(graph)) {
  const steps = cycle
    .slice(0, -1)
    .map((name, i) => `  ${name} -> ${cycle[i + 1]} (${graph.get(name)!.get(cycle[i + 1]!)})`);
  problems.push(`import cycle: ${cycle.join(' -> ')}\n${steps.join('\n')}`);
}
for (const workspace of all.filter((w) => w.kind === 'package')) {
  for (const [name, file] of importsOf(workspace, true)) {
    if (byName.get(name)?.kind === 'app')
      problems.push(`package ${workspace.name} imports app ${name} (${file})`);
  }
}

if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n\n')}\n`);
  process.exit(1);
}
process.stdout.write(`no import cycles among ${all.length} workspace packages; no package imports an app\n`);
