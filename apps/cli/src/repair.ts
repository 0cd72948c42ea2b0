import { type RepairMutation, unwrap } from '@taskplane/client';
import { parse, positionals } from './args';
import { COMMAND_TABLE } from './command-table';
import type { CommandContext } from './commands';
import { table } from './output';

type Page = Extract<RepairMutation['repair'], { __typename: 'RepairPage' }>;
type Finding = Page['findings'][number];

/**
 * `taskplane repair [--dry-run]`: walks the API's repair steps (each a bounded SCAN slice on the
 * server) to the end and lists every finding with what is, or with --dry-run would be, done.
 */
export async function repair(context: CommandContext): Promise<void> {
  const parsed = parse(context.argv, COMMAND_TABLE.repair.options);
  positionals(parsed, []);
  const dryRun = parsed.values['dry-run'] === true;
  const findings: Finding[] = [];
  let examined = 0;
  let after: string | null = null;
  do {
    const page: Page = unwrap(await context.client.repair(dryRun, after), 'RepairPage');
    findings.push(...page.findings);
    examined += page.examined;
    after = page.cursor ?? null;
  } while (after && !context.signal.aborted);
  const complete = after === null;
  const { output } = context;
  if (output.json) {
    output.out(JSON.stringify({ dryRun, complete, examined, findings }, null, 2));
    return;
  }
  table(
    output,
    ['KIND', 'SUBJECT', 'MEMBER', 'FOUND', dryRun ? 'WOULD' : 'DONE'],
    findings.map((f) => [f.kind, f.subject, f.member, f.detail, f.action]),
  );
  const verb = dryRun ? 'would fix' : 'fixed';
  output.out(
    `${findings.length ? `${verb} ${findings.length} inconsistenc${findings.length === 1 ? 'y' : 'ies'}` : 'nothing to repair'}; ${examined} keys and index entries examined${complete ? '' : ' (stopped before the end)'}`,
  );
}
