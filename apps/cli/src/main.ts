import { createClient, TaskplaneClientError } from '@taskplane/client';
import { parse, stringOption, UsageError } from './args';
import { COMMANDS } from './commands';
import { USAGE } from './usage';
import { workerCommand } from './worker';

const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

/** Runs one `taskplane` invocation and returns its exit code (0 ok, 1 failed, 2 usage error). */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    out(USAGE);
    return name ? 0 : 2;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let client: ReturnType<typeof createClient> | null = null;
  try {
    if (name === 'worker') return await workerCommand(rest, env);
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`unknown command "${name}"`);
    const global = parse(rest, {}, true);
    if (global.values.help) {
      out(USAGE);
      return 0;
    }
    const token = stringOption(global, 'token') ?? env.TASKPLANE_TOKEN;
    client = createClient({
      url: stringOption(global, 'url') ?? env.TASKPLANE_URL ?? DEFAULT_URL,
      ...(token ? { token } : {}),
    });
    await command({
      argv: rest,
      client,
      output: { json: global.values.json === true, out },
      signal: controller.signal,
    });
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`taskplane: ${error.message}\nRun "taskplane --help" for usage.\n`);
      return 2;
    }
    if (error instanceof TaskplaneClientError) {
      process.stderr.write(`error ${error.code}: ${error.message}\n`);
      for (const field of error.fields) process.stderr.write(`  ${field.path}: ${field.message}\n`);
      return 1;
    }
    process.stderr.write(`error: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await client?.close();
  }
}

process.exitCode = await run(process.argv.slice(2));
