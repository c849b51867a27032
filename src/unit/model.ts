/**
 * The unit model: a unit file as fleet and systemd see it — a name and an ordered list of options, each in a
 * section. Duplicate keys are kept in order and nothing is merged (fleet's go-systemd parser does the same),
 * so a model round-trips through fleet's API (`options: [{section, name, value}]`) without loss.
 */

/** One `Name=Value` line in a section. `value` is the raw text after `=`, as systemd reads it. */
export interface UnitOption {
  readonly section: string;
  readonly name: string;
  readonly value: string;
}

/** A unit: its full name (`web@1.service`, `web@.service`, `hosts.service`) and its options in order. */
export interface UnitFile {
  readonly name: string;
  readonly options: readonly UnitOption[];
}

/** Sections in first-seen order, each with its options in order. */
export function sectionsOf(unit: Pick<UnitFile, 'options'>): Map<string, UnitOption[]> {
  const out = new Map<string, UnitOption[]>();
  for (const o of unit.options) {
    let list = out.get(o.section);
    if (!list) out.set(o.section, (list = []));
    list.push(o);
  }
  return out;
}

/** Every value of `section`/`name`, in order. */
export function valuesOf(unit: Pick<UnitFile, 'options'>, section: string, name: string): string[] {
  return unit.options.filter((o) => o.section === section && o.name === name).map((o) => o.value);
}
