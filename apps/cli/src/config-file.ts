import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './args';

/** The default endpoint: what `pnpm start` serves. */
export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

/** One named connection in the config file. */
export interface Profile {
  url?: string;
  token?: string;
}

/**
 * `$XDG_CONFIG_HOME/taskplane/config.yaml` (default `~/.config/taskplane/config.yaml`):
 *
 * ```yaml
 * profile: local            # used when --profile names none
 * profiles:
 *   local: { url: http://127.0.0.1:4000/graphql, token: tp_... }
 *   prod:  { url: https://taskplane.example.com/graphql, token: tp_... }
 * ```
 */
export function configPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'taskplane', 'config.yaml');
}

function readProfiles(path: string): { profile?: string; profiles: Record<string, Profile> } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const data = (parseYaml(text) ?? {}) as Record<string, unknown>;
  const profiles = (data.profiles ?? {}) as Record<string, Profile>;
  if (typeof profiles !== 'object' || Array.isArray(profiles))
    throw new UsageError(`${path}: profiles must be a map of name to { url, token }`);
  for (const [name, p] of Object.entries(profiles)) {
    for (const key of Object.keys(p ?? {}))
      if (key !== 'url' && key !== 'token')
        throw new UsageError(`${path}: profiles.${name}.${key} is unknown (expected url, token)`);
  }
  return { ...(typeof data.profile === 'string' ? { profile: data.profile } : {}), profiles };
}

/**
 * Where to connect: a flag beats the environment (`TASKPLANE_URL`, `TASKPLANE_TOKEN`), which beats
 * the profile (`--profile`, else the file's `profile`), which beats the default. There is no
 * TASKPLANE_PROFILE: the server's config loader refuses unknown TASKPLANE_* variables, and operators
 * export the client's variables in the shell that runs `pnpm start` and `worker start`.
 */
export function resolveConnection(
  flags: { url?: string; token?: string; profile?: string },
  env: NodeJS.ProcessEnv,
): { url: string; token?: string } {
  const path = configPath(env);
  const file = readProfiles(path);
  const name = flags.profile ?? file?.profile;
  let profile: Profile = {};
  if (name) {
    const found = file?.profiles[name];
    if (!found) throw new UsageError(`no profile "${name}" in ${path}`);
    profile = found;
  }
  // An empty variable counts as unset, as shells leave them (`TASKPLANE_TOKEN= taskplane ...`).
  const token = flags.token ?? (env.TASKPLANE_TOKEN || profile.token);
  return { url: flags.url ?? (env.TASKPLANE_URL || profile.url || DEFAULT_URL), ...(token ? { token } : {}) };
}
