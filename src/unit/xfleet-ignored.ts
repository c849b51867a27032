/**
 * `[X-Fleet]` values fleet accepts without complaint but then ignores or reads differently from what the
 * author meant. fleet gives no error for these; fleetkit reports them so a unit never silently loses a
 * placement rule.
 */
import type { UnitFile } from './model.js';
import { isBadGoPattern } from './go-path-match.js';
import { deprecatedKeys, isFalsyValue, isTruthyValue, knownKeys, SECTION, splitFleetValues } from './xfleet-values.js';

const known = new Set<string>(knownKeys);

function checkOne(key: string, value: string, out: string[]): void {
  const say = (why: string): void => {
    out.push(`[X-Fleet] ${key}=${value}: ${why}`);
  };
  if (value === '') {
    say('empty value: fleet still counts it as a requirement');
    return;
  }
  const spec = /%(?![nNpi])./.exec(value) ?? /%$/.exec(value);
  if (spec) say(`"${spec[0]}" is not expanded by fleet (only %n, %N, %p and %i are, and "%%" is not special)`);
  const kind = deprecatedKeys[key] ?? key;
  if (kind === 'MachineMetadata') {
    const kv = value.split('=');
    if (kv.length !== 2 || kv[0] === '' || kv[1] === '') say('fleet ignores metadata that is not exactly key=value with both sides non-empty');
  } else if (kind === 'MachineID') {
    if (!/^[0-9a-f]{32}$/.test(value)) say('not a full machine id (32 lower-case hex digits): it matches no machine');
  } else if (kind === 'Conflicts') {
    if (/\s/.test(value)) say('contains whitespace: write one Conflicts= line per pattern');
    else if (isBadGoPattern(value)) say('malformed glob pattern: it never matches');
  } else if (kind === 'Replaces') {
    if (isBadGoPattern(value)) say('malformed glob pattern: it never matches');
  } else if (kind === 'MachineOf') {
    if (/[*?[\\]/.test(value)) say('MachineOf takes exact unit names, not glob patterns');
  } else if (kind === 'Global') {
    if (!isTruthyValue(value) && !isFalsyValue(value)) say('fleet reads this as false (true is one of true, yes, 1, on, t, in any case)');
  }
}

/**
 * Messages for every `[X-Fleet]` value fleet would silently ignore or misread: unknown keys, deprecated
 * spellings, metadata not `key=value`, `%` other than `%n %N %p %i`, a MachineID that is not 32 hex digits
 * (and MachineID values after the first), Conflicts with whitespace, malformed globs, MachineOf globs,
 * Global values fleet reads as false, empty values. Each message starts `[X-Fleet] KEY=VALUE:`.
 */
export function xfleetIgnored(unit: Pick<UnitFile, 'options'>): string[] {
  const out: string[] = [];
  let machineIDs = 0;
  for (const o of unit.options) {
    if (o.section !== SECTION) continue;
    if (!known.has(o.name) && deprecatedKeys[o.name] === undefined) {
      out.push(`[X-Fleet] ${o.name}=${o.value}: unknown key, fleet ignores it (known: ${knownKeys.join(', ')})`);
      continue;
    }
    if (deprecatedKeys[o.name] !== undefined) {
      out.push(`[X-Fleet] ${o.name}=${o.value}: deprecated spelling; write ${deprecatedKeys[o.name]}=`);
    }
    for (const v of splitFleetValues(o.value)) {
      if (o.name === 'MachineID' && machineIDs++ > 0) out.push(`[X-Fleet] MachineID=${v}: fleet uses only the first MachineID value`);
      checkOne(o.name, v, out);
    }
  }
  return out;
}
