/**
 * `fleetkit completion bash|zsh|fish`: a completion script for the shell. Commands come from the CLI's
 * command table and each command's options from its own `--help` text, so a new option is completed
 * without being listed twice.
 */
import { ExitCode, UsageError } from '../errors.js';
import type { CliIO, Command } from './io.js';
import { commands } from './commands.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** The options a command's help names (`--follow`, `-f`), in order of appearance. */
export function optionsInHelp(help: string): string[] {
  const found = new Set<string>();
  for (const line of help.split('\n')) {
    // An option line starts indented with a dash; its options end where two spaces start the description.
    const spec = /^\s+(-\S.*?)(?: {2,}|$)/.exec(line)?.[1];
    if (!spec) continue;
    for (const m of spec.matchAll(/(?:^|[\s,])(--?[A-Za-z][A-Za-z0-9-]*)/g)) found.add(m[1]!);
  }
  return [...found];
}

/** Runs `fleetkit NAME --help` in-process and returns what it printed. */
async function helpOf(name: string, io: CliIO): Promise<string> {
  let out = '';
  const quiet: CliIO = { ...io, stdout: { write: (c: string) => (out += c) }, stderr: { write: () => true } };
  await (await commands[name]!.load()).run(['--help'], quiet);
  return out;
}

const words = (xs: readonly string[]): string => xs.join(' ');

function bash(table: ReadonlyMap<string, string[]>): string {
  const cases = [...table].map(([name, opts]) => `    ${name}) opts="${words(opts)}" ;;`).join('\n');
  return `# bash completion for fleetkit: source it, or put it in /etc/bash_completion.d/fleetkit
_fleetkit() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${words([...table.keys()])} help completion --help --version" -- "$cur") )
    return 0
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    help) COMPREPLY=( $(compgen -W "${words([...table.keys()])} completion" -- "$cur") ); return 0 ;;
    completion) COMPREPLY=( $(compgen -W "${words(SHELLS)}" -- "$cur") ); return 0 ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=()  # files and unit names: the shell's default completion
  fi
  return 0
}
complete -o default -F _fleetkit fleetkit
`;
}

function zsh(table: ReadonlyMap<string, string[]>): string {
  const cases = [...table].map(([name, opts]) => `    ${name}) opts=(${words(opts)}) ;;`).join('\n');
  const described = [...table.keys()].map((n) => `'${n}:${commands[n]!.summary.replace(/'/g, "'\\''").replace(/:/g, '\\:')}'`).join(' ');
  return `#compdef fleetkit
# zsh completion for fleetkit: put it in a directory of $fpath as _fleetkit
_fleetkit() {
  local -a cmds opts
  cmds=(${described} 'help:a command'"'"'s options' 'completion:bash, zsh or fish completion script')
  if (( CURRENT == 2 )); then
    _describe 'command' cmds
    return
  fi
  case $words[2] in
${cases}
    help) _describe 'command' cmds; return ;;
    completion) compadd ${words(SHELLS)}; return ;;
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $opts
  else
    _files
  fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _fleetkit "$@"
else
  compdef _fleetkit fleetkit
fi
`;
}

function fish(table: ReadonlyMap<string, string[]>): string {
  const lines = ['# fish completion for fleetkit: put it in ~/.config/fish/completions/fleetkit.fish', 'complete -c fleetkit -f'];
  const all = [...table.keys()];
  lines.push(`complete -c fleetkit -n "not __fish_seen_subcommand_from ${words(all)} help completion" -a "help completion"`);
  for (const [name, opts] of table) {
    lines.push(`complete -c fleetkit -n "not __fish_seen_subcommand_from ${words(all)} help completion" -a ${name} -d '${commands[name]!.summary.replace(/'/g, "\\'")}'`);
    for (const o of opts) {
      const flag = o.startsWith('--') ? `-l ${o.slice(2)}` : `-s ${o.slice(1)}`;
      lines.push(`complete -c fleetkit -n "__fish_seen_subcommand_from ${name}" ${flag} -F`);
    }
  }
  lines.push(`complete -c fleetkit -n "__fish_seen_subcommand_from help" -a "${words(all)}"`);
  lines.push(`complete -c fleetkit -n "__fish_seen_subcommand_from completion" -a "${words(SHELLS)}"`);
  return `${lines.join('\n')}\n`;
}

export const run: Command = async (argv, io) => {
  if (argv[0] === '--help' || argv[0] === '-h') {
    io.stdout.write(`usage: fleetkit completion ${SHELLS.join('|')}\n\nPrints a completion script: source <(fleetkit completion bash), or save it where the shell loads completions.\n`);
    return ExitCode.ok;
  }
  const shell = argv[0] as Shell | undefined;
  if (argv.length !== 1 || !SHELLS.includes(shell!)) throw new UsageError(`completion takes one shell: ${SHELLS.join(', ')}`, "e.g. 'source <(fleetkit completion bash)'");
  const table = new Map<string, string[]>();
  for (const name of Object.keys(commands)) table.set(name, optionsInHelp(await helpOf(name, io)));
  io.stdout.write(shell === 'bash' ? bash(table) : shell === 'zsh' ? zsh(table) : fish(table));
  return ExitCode.ok;
};
