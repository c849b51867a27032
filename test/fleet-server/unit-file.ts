/**
 * The unit-file rules fleetd applies, written independently of fleetkit's own src/unit so that the test
 * server can referee it: go-systemd's Serialize (the bytes fleet hashes and the agent writes), fleet's SHA1
 * unit hash, go-systemd's Deserialize lexer (used by fleetd to re-check submitted options — this is where
 * `line too long (max 2048 bytes)` comes from), and fleet's reading of the [X-Fleet] section (job.go).
 */
import { createHash } from 'node:crypto';

/** One unit option as fleet's API carries it. */
export interface FleetOption {
  readonly section: string;
  readonly name: string;
  readonly value: string;
}

/** go-systemd `unit.Serialize`: sections in first-seen order, options grouped, blank line between sections. */
export function serializeOptions(options: readonly FleetOption[]): string {
  const order: string[] = [];
  const bySection = new Map<string, FleetOption[]>();
  for (const o of options) {
    let list = bySection.get(o.section);
    if (!list) {
      list = [];
      bySection.set(o.section, list);
      order.push(o.section);
    }
    list.push(o);
  }
  return order
    .map((s) => `[${s}]\n` + (bySection.get(s) ?? []).map((o) => `${o.name}=${o.value}\n`).join(''))
    .join('\n');
}

/** fleet's unit hash: hex SHA1 of the serialized options. */
export function hashOptions(options: readonly FleetOption[]): string {
  return createHash('sha1').update(serializeOptions(options), 'utf8').digest('hex');
}

// ---- go-systemd Deserialize, as a simulation of its bufio-driven lexer ----------------------------

const LINE_MAX = 2048;
const BUF_SIZE = 4096; // bufio.NewReader default
class LexError extends Error {}

/** A byte-exact model of Go's bufio.Reader over a bytes.Buffer, enough for the lexer's calls. */
class BufReader {
  private readonly buf = new Uint8Array(BUF_SIZE);
  private r = 0;
  private w = 0;
  private src = 0;
  private eof = false;
  private lastSize = -1;
  constructor(private readonly data: Uint8Array) {}
  private fill(): void {
    if (this.r > 0) {
      this.buf.copyWithin(0, this.r, this.w);
      this.w -= this.r;
      this.r = 0;
    }
    const n = Math.min(BUF_SIZE - this.w, this.data.length - this.src);
    if (n === 0) {
      this.eof = true;
      return;
    }
    this.buf.set(this.data.subarray(this.src, this.src + n), this.w);
    this.src += n;
    this.w += n;
  }
  buffered(): number {
    return this.w - this.r;
  }
  peek(n: number): Uint8Array {
    while (this.w - this.r < n && this.w - this.r < BUF_SIZE && !this.eof) this.fill();
    return this.buf.subarray(this.r, Math.min(this.w, this.r + n));
  }
  /** Returns the rune's first byte (enough for the lexer's comparisons), or -1 at EOF. */
  readRune(): number {
    while (this.r + 4 > this.w && !this.fullRune() && !this.eof && this.w - this.r < BUF_SIZE) this.fill();
    this.lastSize = -1;
    if (this.r === this.w) return -1;
    const c = this.buf[this.r] ?? 0;
    const size = this.runeSize();
    this.r += size;
    this.lastSize = size;
    return size === 1 ? c : 0x100 + c; // multi-byte runes are never one of the lexer's ASCII delimiters
  }
  private runeSize(): number {
    const c = this.buf[this.r] ?? 0;
    const want = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return Math.min(want, this.w - this.r) || 1;
  }
  private fullRune(): boolean {
    if (this.r === this.w) return false;
    const c = this.buf[this.r] ?? 0;
    const want = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return this.w - this.r >= want;
  }
  unreadRune(): void {
    if (this.lastSize > 0) this.r -= this.lastSize;
    this.lastSize = -1;
  }
  /** ReadBytes(delim): returns the bytes up to and including delim, and whether EOF ended it. */
  readBytes(delim: number): { bytes: number[]; eof: boolean } {
    const out: number[] = [];
    for (;;) {
      const idx = this.buf.subarray(this.r, this.w).indexOf(delim);
      if (idx >= 0) {
        out.push(...this.buf.subarray(this.r, this.r + idx + 1));
        this.r += idx + 1;
        return { bytes: out, eof: false };
      }
      if (this.eof) {
        out.push(...this.buf.subarray(this.r, this.w));
        this.r = this.w;
        return { bytes: out, eof: true };
      }
      if (this.buffered() >= BUF_SIZE) {
        out.push(...this.buf.subarray(this.r, this.w));
        this.r = this.w;
      }
      this.fill();
    }
  }
}

const isUnicodeSpace = (r: number): boolean => [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20].includes(r);

/**
 * Runs go-systemd's Deserialize lexer over `text` and returns its error text, or null when it parses.
 * The line-length gate reproduces go-systemd exactly, including its dependence on bufio's buffer state.
 */
export function deserializeError(text: string): string | null {
  const rd = new BufReader(Buffer.from(text, 'utf8'));
  const toEOL = (): { line: number[]; eof: boolean } => {
    const { bytes, eof } = rd.readBytes(0x0a);
    if (bytes[bytes.length - 1] === 0x0a) bytes.pop();
    if (bytes[bytes.length - 1] === 0x0d) bytes.pop();
    return { line: bytes, eof };
  };
  type Step = (() => Step | null) | null;
  const trimmed = (b: number[]): number[] => {
    let s = 0;
    let e = b.length;
    while (s < e && isUnicodeSpace(b[s] ?? 0)) s++;
    while (e > s && isUnicodeSpace(b[e - 1] ?? 0)) e--;
    return b.slice(s, e);
  };
  const ignoreLine = (next: Step): Step => () => {
    for (;;) {
      let { line } = toEOL();
      if (line[line.length - 1] === 0x20) line = line.slice(0, -1);
      if (line[line.length - 1] !== 0x5c) break;
    }
    return next;
  };
  const sectionSuffix = (section: string): Step => () => {
    const garbage = trimmed(toEOL().line);
    if (garbage.length > 0) throw new LexError(`found garbage after section name : [${garbage.join(' ')}]`);
    return nextSectionOrOption(section);
  };
  const sectionName: Step = () => {
    const { bytes, eof } = rd.readBytes(0x5d);
    if (eof) throw new LexError('unable to find end of section');
    return sectionSuffix(Buffer.from(bytes.slice(0, -1)).toString('utf8'));
  };
  const nextSection: Step = () => {
    const r = rd.readRune();
    if (r < 0) return null;
    if (r === 0x5b) return sectionName;
    if (r === 0x23 || r === 0x3b) return ignoreLine(nextSection);
    return nextSection;
  };
  const nextSectionOrOption = (section: string): Step => () => {
    const r = rd.readRune();
    if (r < 0) return null;
    if (isUnicodeSpace(r)) return nextSectionOrOption(section);
    if (r === 0x5b) return sectionName;
    if (r === 0x23 || r === 0x3b) return ignoreLine(nextSectionOrOption(section));
    rd.unreadRune();
    return optionName(section);
  };
  const optionName = (section: string): Step => () => {
    for (;;) {
      const r = rd.readRune();
      if (r < 0) throw new LexError('EOF');
      if (r === 0x0a || r === 0x0d) throw new LexError('unexpected newline encountered while parsing option name');
      if (r === 0x3d) break;
    }
    return optionValue(section);
  };
  const optionValue = (section: string): Step => () => {
    const { line } = toEOL();
    if (trimmed(line).length === 0) return nextSectionOrOption(section);
    if (line[line.length - 1] !== 0x5c) return nextSectionOrOption(section);
    return optionValue(section);
  };
  try {
    let next: Step = nextSection;
    while (next) {
      if (rd.buffered() >= LINE_MAX) {
        const head = rd.peek(LINE_MAX);
        if (!head.includes(0x0a) && !head.includes(0x0d)) throw new LexError(`line too long (max ${LINE_MAX} bytes)`);
      }
      next = next();
    }
    return null;
  } catch (err) {
    if (err instanceof LexError) return err.message;
    throw err;
  }
}

// ---- [X-Fleet] as fleet's job.go reads it ------------------------------------------------------

/** fleet's parseMultivalueLine: only a value wholly in double quotes is split on spaces outside quotes. */
export function parseMultivalue(line: string): string[] {
  if (!(line.startsWith('"') && line.endsWith('"'))) return [line];
  const values: string[] = [];
  let v = '';
  let inQuotes = false;
  for (const ch of line) {
    if (ch === '"') {
      inQuotes = !inQuotes;
      continue;
    }
    if (ch === ' ' && !inQuotes) {
      values.push(v);
      v = '';
      continue;
    }
    v += ch;
  }
  values.push(v);
  return values;
}

/** Scheduling requirements of one unit, as fleet's engine and agents see them. */
export interface Requirements {
  readonly machineID: string | undefined;
  readonly peers: readonly string[];
  readonly metadata: ReadonlyMap<string, ReadonlySet<string>>;
  readonly conflicts: readonly string[];
  readonly replaces: readonly string[];
  readonly global: boolean;
}

const LEGACY_KEYS: Record<string, string> = {
  'X-ConditionMachineID': 'MachineID',
  'X-ConditionMachineOf': 'MachineOf',
  'X-ConditionMachineMetadata': 'MachineMetadata',
  'X-Conflicts': 'Conflicts',
};

/** Splits a unit name like fleet's UnitNameInfo (`web@2.service` → prefix web, instance 2). */
export function unitNameInfo(name: string): { prefix: string; instance: string; base: string; isTemplate: boolean } {
  const dot = name.lastIndexOf('.');
  const base = dot >= 0 ? name.slice(0, dot) : name;
  const at = base.indexOf('@');
  if (at < 0) return { prefix: base, instance: '', base, isTemplate: false };
  const instance = base.slice(at + 1);
  return { prefix: base.slice(0, at), instance, base, isTemplate: instance === '' };
}

/**
 * The unit-name specifiers %n %N %p %i of `value` replaced for unit `name`: what fleet does to [X-Fleet] values,
 * and what systemd does to the unit names in [Unit] (there with more specifiers, none of which a unit name uses).
 */
export function expandNameSpecifiers(name: string, value: string): string {
  const info = unitNameInfo(name);
  return value.split('%n').join(name).split('%N').join(info.base).split('%p').join(info.prefix).split('%i').join(info.instance);
}

/** Reads [X-Fleet] from a unit's options: specifiers %n %N %p %i replaced, multi-value lines split. */
export function readRequirements(name: string, options: readonly FleetOption[]): Requirements {
  const expand = (v: string): string => expandNameSpecifiers(name, v);
  const reqs = new Map<string, string[]>();
  for (const o of options) {
    if (o.section !== 'X-Fleet') continue;
    const key = LEGACY_KEYS[o.name] ?? o.name;
    const list = reqs.get(key) ?? [];
    list.push(...parseMultivalue(o.value).map(expand));
    reqs.set(key, list);
  }
  const metadata = new Map<string, Set<string>>();
  for (const pair of reqs.get('MachineMetadata') ?? []) {
    const parts = pair.split('=');
    if (parts.length !== 2 || !parts[0] || !parts[1]) continue; // fleet silently ignores malformed pairs
    const set = metadata.get(parts[0]) ?? new Set<string>();
    set.add(parts[1]);
    metadata.set(parts[0], set);
  }
  const globals = reqs.get('Global') ?? [];
  const lastGlobal = (globals[globals.length - 1] ?? '').toLowerCase();
  const ids = reqs.get('MachineID') ?? [];
  return {
    machineID: ids.length > 0 ? ids[0] : undefined,
    peers: reqs.get('MachineOf') ?? [],
    metadata,
    conflicts: (reqs.get('Conflicts') ?? []).flatMap((v) => v.split(/\s+/).filter(Boolean)),
    replaces: (reqs.get('Replaces') ?? []).flatMap((v) => v.split(/\s+/).filter(Boolean)),
    global: ['true', 'yes', '1', 'on', 't'].includes(lastGlobal),
  };
}
