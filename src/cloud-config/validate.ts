/**
 * Checks a generated document against its format's schema, so fleetkit never hands out a cloud-config or
 * Butane file that the machine would reject or half-apply at boot.
 */
import { parse } from 'yaml';
import { FleetkitError, ExitCode } from '../errors.js';
import { butaneSchema } from './schema-butane.js';
import { cloudConfigSchema, normalizeCloudConfigKeys } from './schema-cloud-config.js';

/** The two output formats. */
export type BootFormat = 'cloud-config' | 'butane';

interface Issue {
  readonly code: string;
  readonly path: ReadonlyArray<PropertyKey>;
  readonly keys?: readonly string[];
  readonly expected?: string;
  readonly values?: readonly unknown[];
}

function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('') || '(document)';
}

/** One sentence per zod issue, naming the key path. */
function describe(issue: Issue): string {
  const at = pathText(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${at}: unknown key${issue.keys && issue.keys.length > 1 ? 's' : ''} ${(issue.keys ?? []).map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_type':
      return `${at}: expected ${issue.expected ?? 'another type'}`;
    case 'invalid_format':
      return `${at}: malformed value`;
    case 'invalid_value':
      return `${at}: must be one of ${(issue.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${at}: invalid (${issue.code})`;
  }
}

/** Problems of `text` as a document of `format`; empty when it is valid. */
export function bootDocumentProblems(format: BootFormat, text: string): string[] {
  if (format === 'cloud-config' && !text.startsWith('#cloud-config\n')) return ['the first line must be exactly "#cloud-config"'];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return [`not YAML: ${(e as Error).message}`];
  }
  const result = format === 'cloud-config' ? cloudConfigSchema.safeParse(normalizeCloudConfigKeys(doc)) : butaneSchema.safeParse(doc);
  return result.success ? [] : result.error.issues.map((i) => describe(i as unknown as Issue));
}

/** Throws when a generated document does not match its schema (a fleetkit bug, reported plainly). */
export function assertBootDocument(format: BootFormat, text: string): void {
  const problems = bootDocumentProblems(format, text);
  if (problems.length) {
    throw new FleetkitError('ERR_BOOT_SCHEMA', `generated ${format} does not match its schema:\n  ${problems.join('\n  ')}`, {
      exitCode: ExitCode.failed,
      hint: 'this is a fleetkit bug; please report it with your cluster.yaml',
    });
  }
}
