import { createClient, TaskplaneClientError } from '@taskplane/client';
import { parse, stringOption, UsageError } from './args';
import { COMMANDS } from './commands';
import { completionCommand } from './completion';
import { resolveConnection } from './config-file';
import { commandHelp, USAGE } from './usage';
import { workerCommand } from './worker';

/** Runs one `taskplane` invocation and returns its exit code (0 ok, 1 failed, 2 usage error). */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    out((topic && commandHelp(topic)) || USAGE);
    return name ? 0 : 2;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let client: ReturnType<typeof createClient> | null = null;
  try {
    const command = COMMANDS[name];
    if (!command && name !== 'worker' && name !== 'completion')
      throw new UsageError(`unknown command "${name}"`);
    const global = parse(rest, {}, true);
    if (global.values.help) {
      out(commandHelp(name) ?? USAGE);
      return 0;
    }
    if (name === 'worker') return await workerCommand(rest, env);
    if (name === 'completion') return completionCommand(rest, (text) => process.stdout.write(text));
    const tty = process.stdout.isTTY === true;
    const connection = resolveConnection(
      {
        ...(stringOption(global, 'url') ? { url: stringOption(global, 'url')! } : {}),
        ...(stringOption(global, 'token') ? { token: stringOption(global, 'token')! } : {}),
        ...(stringOption(global, 'profile') ? { profile: stringOption(global, 'profile')! } : {}),
      },
      env,
    );
    client = createClient(connection);
    const code = await command!({
      argv: rest,
      client,
      url: connection.url,
      output: {
        json: global.values.json === true,
        tty,
        color: tty && !env.NO_COLOR && env.TERM !== 'dumb',
        out,
        err,
      },
      signal: controller.signal,
      env,
    });
    return typeof code === 'number' ? code : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`taskplane: ${error.message}\nRun "taskplane ${name} --help" for usage.`);
      return 2;
    }
    if (error instanceof TaskplaneClientError) {
      err(`error ${error.code}: ${error.message}`);
      for (const field of error.fields) err(`  ${field.path}: ${field.message}`);
      return 1;
    }
    err(`error: ${(error as Error).message ?? String(error)}`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await client?.close();
  }
}

process.exitCode = await run(process.argv.slice(2));
