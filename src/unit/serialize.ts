/**
 * {@link UnitFile} → unit-file text, byte for byte what fleet writes for the same options (go-systemd's
 * serializer): sections in first-seen order, `[Section]`, `Name=Value` per option in order, a blank line
 * between sections, a final newline. Refuses anything that would read back differently (in fleet or in
 * systemd) or that fleet would refuse, so `parseUnit(u.name, serializeUnit(u))` deep-equals `u`.
 */
import { UnitError } from '../errors.js';
import { sectionsOf, type UnitFile, type UnitOption } from './model.js';
import { LINE_MAX } from './parse.js';
import { goTrimSpace, isGoSpace } from './go-text.js';

/** The text fleet serializes, without any checks (the input of fleet's hash). */
export function formatOptions(options: readonly UnitOption[]): string {
  const blocks: string[] = [];
  for (const [section, opts] of sectionsOf({ options })) {
    blocks.push(`[${section}]\n${opts.map((o) => `${o.name}=${o.value}\n`).join('')}`);
  }
  return blocks.join('\n');
}

function checkSection(unit: string, section: string): void {
  if (section === '' || /[[\]\x00-\x1f\x7f]/.test(section) || section !== goTrimSpace(section)) {
    throw new UnitError('ERR_UNIT_SYNTAX', `invalid section name ${JSON.stringify(section)}`, {
      unit,
      hint: 'section names are printable, without "[", "]" or surrounding spaces',
    });
  }
}

function checkOption(unit: string, o: UnitOption): void {
  const where = `[${o.section}] ${o.name}`;
  if (o.name === '' || /[=\x00-\x1f\x7f]/.test(o.name) || o.name !== goTrimSpace(o.name) || /^[[#;]/.test(o.name)) {
    throw new UnitError('ERR_UNIT_SYNTAX', `[${o.section}]: invalid directive name ${JSON.stringify(o.name)}`, { unit });
  }
  const bad = (why: string, hint: string): never => {
    throw new UnitError('ERR_UNIT_VALUE', `${where}: ${why}`, { unit, hint });
  };
  if (/[\r\0]/.test(o.value)) bad('the value contains a carriage return or NUL', 'remove it; systemd would split the line there');
  if (o.value !== goTrimSpace(o.value)) bad('leading or trailing whitespace would be lost', 'trim the value');
  if (o.value.endsWith('\\')) bad('the value ends in "\\", which would join the next line', 'quote the last word or drop the "\\"');
  // A newline is only allowed as a continuation ("\" then newline), and the continued line must not be
  // blank or a comment: fleet would end the value there and read what follows as a new directive.
  const lines = o.value.split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    const next = lines[i + 1] ?? '';
    const nextStart = [...next].find((ch) => !isGoSpace(ch.codePointAt(0) ?? 0));
    if (!(lines[i] ?? '').endsWith('\\') || nextStart === undefined || nextStart === '#' || nextStart === ';') {
      bad('the value contains a newline, which would start a new directive', 'escape it (\\n in command lines) or keep the value on one line');
    }
  }
}

function checkLine(unit: string, where: string, line: string): void {
  const bytes = Buffer.byteLength(line, 'utf8') + 1;
  if (bytes > LINE_MAX) {
    throw new UnitError('ERR_UNIT_LINE', `${where}: line too long (${bytes} bytes with its newline; max ${LINE_MAX} bytes)`, {
      unit,
      hint: 'fleet refuses longer lines: shorten the value, or move arguments into an EnvironmentFile= or a script',
    });
  }
}

/**
 * Serializes a unit. Throws `ERR_UNIT_LINE` (naming unit, section and directive) when a line and its
 * newline would exceed 2048 bytes, `ERR_UNIT_VALUE` for a value with a raw newline (other than a `\`
 * continuation), a carriage return, NUL, surrounding whitespace or a trailing `\`, and `ERR_UNIT_SYNTAX`
 * for an invalid section or directive name.
 */
export function serializeUnit(unit: UnitFile): string {
  for (const o of unit.options) {
    checkSection(unit.name, o.section);
    checkOption(unit.name, o);
    checkLine(unit.name, `[${o.section}]`, `[${o.section}]`);
    for (const line of `${o.name}=${o.value}`.split('\n')) checkLine(unit.name, `[${o.section}] ${o.name}`, line);
  }
  return formatOptions(unit.options);
}
