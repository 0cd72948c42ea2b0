// `taskplane completion`: the scripts the real binary prints, checked by the shell that runs them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-binary';

const dir = mkdtempSync(join(tmpdir(), 'tptest-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash completes for `words` (the cursor on the last word), with the script loaded. */
function complete(script: string, words: string[]): string[] {
  const array = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '-c',
      `source "$1"; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _taskplane; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      script,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('taskplane completion', () => {
  it('prints a bash script that parses and completes commands, actions and flags', async () => {
    const result = await runCli({}, ['completion', 'bash']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const script = join(dir, 'taskplane.bash');
    writeFileSync(script, result.stdout);
    execFileSync('bash', ['-n', script]);

    expect(complete(script, ['taskplane', 'rep'])).toEqual(['repair']);
    expect(complete(script, ['taskplane', 't'])).toEqual(['tail', 'token', 'tune']);
    expect(complete(script, ['taskplane', 'dlq', 'p'])).toEqual(['purge']);
    expect(complete(script, ['taskplane', 'repair', '--d'])).toEqual(['--dry-run']);
    expect(complete(script, ['taskplane', 'submit', '--idem'])).toEqual(['--idempotency-key']);
  });

  it('prints zsh and fish scripts, and refuses another shell', async () => {
    const zsh = await runCli({}, ['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef taskplane$/m);
    expect(zsh.stdout).toMatch(/repair\) actions=\(\); flags=\(--dry-run /);
    const fish = await runCli({}, ['completion', 'fish']);
    expect(fish.code).toBe(0);
    expect(fish.stdout).toContain("complete -c taskplane -n '__fish_seen_subcommand_from repair' -l dry-run");
    expect((await runCli({}, ['completion', 'ksh'])).code).toBe(2);
  });
});
