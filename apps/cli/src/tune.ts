import { parse, positionals } from './args';
import type { CommandContext } from './commands';
import { paint, table } from './output';

/** `taskplane tune [--json]`: the API's diagnostics, findings with their evidence and a suggested change each. */
export async function tune(context: CommandContext): Promise<void> {
  positionals(parse(context.argv, {}), []);
  // The rules live in the API (the diagnostics query), so the console, bots and this agree.
  const [findings, memory] = await Promise.all([context.client.diagnostics(), context.client.redisMemory()]);
  const { output } = context;
  if (output.json) {
    output.out(JSON.stringify({ findings, memory }, null, 2));
    return;
  }
  table(
    output,
    ['SEVERITY', 'QUEUE', 'FINDING', 'EVIDENCE', 'SUGGESTION'],
    findings.map((f) => [
      paint(output, f.severity === 'warning' ? 'yellow' : 'cyan', f.severity),
      f.queue,
      f.code,
      f.evidence,
      f.suggestion,
    ]),
  );
  output.out(findings.length ? `${findings.length} finding(s)` : 'nothing to tune');
}
