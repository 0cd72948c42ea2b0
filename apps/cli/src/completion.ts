import { GLOBAL_OPTIONS, parse, positionals, UsageError } from './args';
import { COMMAND_TABLE, type CommandName, flagsOf } from './command-table';

const names = Object.keys(COMMAND_TABLE) as CommandName[];
const actionsOf = (name: CommandName): readonly string[] =>
  (COMMAND_TABLE[name] as { actions?: readonly string[] }).actions ?? [];

/** Bash: commands, then a command's actions and flags; files elsewhere (`submit --bulk`, `workflow submit`). */
function bash(): string {
  const cases = names
    .map((n) => `    ${n}) actions="${actionsOf(n).join(' ')}"; flags="${flagsOf(n).join(' ')}" ;;`)
    .join('\n');
  return `# taskplane completion for bash. Load it with: source <(taskplane completion bash)
_taskplane() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${names.join(' ')} help" -- "$cur"))
    return
  fi
  local actions="" flags=""
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [[ $COMP_CWORD -eq 2 && -n $actions ]]; then
    COMPREPLY=($(compgen -W "$actions" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _taskplane taskplane
`;
}

function zsh(): string {
  const cases = names
    .map((n) => `    ${n}) actions=(${actionsOf(n).join(' ')}); flags=(${flagsOf(n).join(' ')}) ;;`)
    .join('\n');
  return `#compdef taskplane
# taskplane completion for zsh. Load it with: source <(taskplane completion zsh) (after compinit)
_taskplane() {
  if (( CURRENT == 2 )); then
    compadd -- ${names.join(' ')} help
    return
  fi
  local -a actions flags
  case "\${words[2]}" in
${cases}
  esac
  if [[ "\${words[CURRENT]}" == -* ]]; then
    compadd -- $flags
  elif (( CURRENT == 3 && \${#actions} > 0 )); then
    compadd -- $actions
  else
    _files
  fi
}
compdef _taskplane taskplane
`;
}

function fish(): string {
  const lines = [
    '# taskplane completion for fish. Load it with: taskplane completion fish | source',
    'complete -c taskplane -f',
    `complete -c taskplane -n __fish_use_subcommand -a '${names.join(' ')} help'`,
  ];
  for (const [long, o] of Object.entries(GLOBAL_OPTIONS)) {
    lines.push(
      `complete -c taskplane -l ${long}${'short' in o ? ` -s ${o.short}` : ''}${o.type === 'string' ? ' -r' : ''}`,
    );
  }
  for (const name of names) {
    const when = `-n '__fish_seen_subcommand_from ${name}'`;
    if (actionsOf(name).length) lines.push(`complete -c taskplane ${when} -a '${actionsOf(name).join(' ')}'`);
    for (const [long, o] of Object.entries(COMMAND_TABLE[name].options)) {
      const short = (o as { short?: string }).short;
      lines.push(
        `complete -c taskplane ${when} -l ${long}${short ? ` -s ${short}` : ''}${(o as { type: string }).type === 'string' ? ' -r' : ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

const SHELLS = { bash, zsh, fish } as const;

/** `taskplane completion bash|zsh|fish`: the shell's completion script, from the command table. */
export function completionCommand(argv: string[], out: (text: string) => void): number {
  const [shell] = positionals(parse(argv, COMMAND_TABLE.completion.options), ['bash|zsh|fish']);
  const render = SHELLS[shell as keyof typeof SHELLS];
  if (!render) throw new UsageError(`completion takes bash, zsh or fish, got "${shell}"`);
  out(render());
  return 0;
}
