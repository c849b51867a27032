/**
 * Plain column tables for terminals and pipes, with optional ANSI colour. Widths are computed from the
 * visible text, so colouring a cell never misaligns a column. Pure.
 */

/** The colours the operations views use. */
export type Tint = 'red' | 'green' | 'yellow' | 'dim' | 'bold';

const CODES: Record<Tint, string> = { red: '31', green: '32', yellow: '33', dim: '2', bold: '1' };

/** A cell: text, and the tint it has on a terminal. */
export interface Cell {
  readonly text: string;
  readonly tint?: Tint | undefined;
}

/** Wraps `text` in the tint's escape codes when `color` is on. */
export function paint(text: string, tint: Tint | undefined, color: boolean): string {
  return color && tint && text !== '' ? `\x1b[${CODES[tint]}m${text}\x1b[0m` : text;
}

/** Lays out rows under a header, columns separated by two spaces, trailing spaces trimmed. */
export function renderTable(header: readonly string[], rows: readonly (readonly (Cell | string)[])[], color: boolean): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'string' ? { text: c } : c)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.text.length ?? 0)));
  const line = (r: readonly Cell[]): string =>
    r
      .map((c, i) => paint(c.text, c.tint, color) + (i === r.length - 1 ? '' : ' '.repeat((widths[i] ?? 0) - c.text.length + 2)))
      .join('')
      .replace(/ +$/, '');
  return [line(header.map((h) => ({ text: h, tint: 'bold' as const }))), ...cells.map(line)].join('\n') + '\n';
}
