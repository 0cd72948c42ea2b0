#!/usr/bin/env -S node --import tsx
import { parseArgs } from 'node:util';
import { runBot } from './bot';

const USAGE = `taskplane-alert-bot: forwards Taskplane alerts, resuming after the last one it handled

  --url URL            GraphQL endpoint (default $TASKPLANE_URL or http://127.0.0.1:4000/graphql)
  --token TOKEN        API token, viewer role is enough (default $TASKPLANE_TOKEN)
  --cursor-file FILE   where the last handled cursor is kept (default ./alert-bot.cursor)
  --forward-to URL     POST each alert event there as JSON (default: one JSON line per event on stdout)
  --severity S         only this severity (info, warning, critical); repeatable
`;

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    'cursor-file': { type: 'string', default: 'alert-bot.cursor' },
    'forward-to': { type: 'string' },
    severity: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const token = values.token ?? process.env.TASKPLANE_TOKEN;
if (!token) {
  process.stderr.write(`a token is needed (--token or TASKPLANE_TOKEN)\n\n${USAGE}`);
  process.exit(2);
}
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
const log = (message: string) => process.stderr.write(`alert-bot: ${message}\n`);
try {
  await runBot({
    url: values.url ?? process.env.TASKPLANE_URL ?? 'http://127.0.0.1:4000/graphql',
    token,
    cursorFile: values['cursor-file'],
    forwardTo: values['forward-to'] ?? null,
    severities: values.severity,
    log,
    signal: stop.signal,
  });
} catch (error) {
  log(`stopped: ${(error as Error).message}`);
  process.exit(1);
}
