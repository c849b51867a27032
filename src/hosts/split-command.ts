/**
 * Splits a `--exec` command line into argv the way a POSIX shell splits words — quotes and backslashes
 * only. No expansion, no globbing, no `;`/`|`/`$(…)`: the hook runs without a shell unless `--shell` asks
 * for one, so nothing in the command (or in the environment it gets) is interpreted twice.
 */
import { UsageError } from '../errors.js';

/** Splits `cmd` into words. Throws a UsageError on an unterminated quote or an empty command. */
export function splitCommand(cmd: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (c === "'") {
      const end = cmd.indexOf("'", i + 1);
      if (end < 0) throw new UsageError(`--exec: unterminated ' in ${JSON.stringify(cmd)}`, 'close the quote, or pass --shell to run the command with /bin/sh');
      word += cmd.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < cmd.length && cmd[j] !== '"'; j++) {
        if (cmd[j] === '\\' && j + 1 < cmd.length && '"\\$`'.includes(cmd[j + 1]!)) j++;
        word += cmd[j];
      }
      if (j >= cmd.length) throw new UsageError(`--exec: unterminated " in ${JSON.stringify(cmd)}`, 'close the quote, or pass --shell to run the command with /bin/sh');
      inWord = true;
      i = j;
    } else if (c === '\\' && i + 1 < cmd.length) {
      word += cmd[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  if (words.length === 0) throw new UsageError('--exec: the command is empty');
  return words;
}
