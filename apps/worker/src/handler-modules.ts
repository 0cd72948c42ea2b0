import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, type HandlerMap } from '@taskplane/core';

/**
 * Load the handler modules a deployment names in `workers.handler_modules`: each default-exports a
 * map of task type name to handler. Paths are relative to the working directory; bare names are
 * packages.
 */
export async function loadHandlerModules(specifiers: string[], baseDir = process.cwd()): Promise<HandlerMap> {
  const merged: HandlerMap = {};
  for (const specifier of specifiers) {
    const target =
      specifier.startsWith('.') || isAbsolute(specifier)
        ? pathToFileURL(resolve(baseDir, specifier)).href
        : specifier;
    let module: { default?: unknown };
    try {
      module = (await import(target)) as { default?: unknown };
    } catch (error) {
      throw new ConfigError(`cannot load handler module ${specifier}: ${(error as Error).message}`);
    }
    const map = module.default;
    if (!map || typeof map !== 'object' || Object.values(map).some((h) => typeof h !== 'function')) {
      throw new ConfigError(
        `handler module ${specifier} must default-export an object of task type name to handler function`,
      );
    }
    Object.assign(merged, map);
  }
  return merged;
}
