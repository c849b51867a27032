/**
 * Building blocks of the cluster.yaml schema (zod/mini), shared by the top level (`schema.ts`) and the
 * service and resource parts (`schema-service.ts`).
 */
import * as z from 'zod/mini';

/** The schemas made by `unsupported`: key lists in hints leave them out. */
export const UNSUPPORTED = new WeakSet<object>();

/** A Compose key fleetkit refuses: any value is a problem with this explanation and hint. */
export function unsupported(why: string, hint: string) {
  const s = z.optional(z.custom<never>(() => false, { error: why, params: { hint, unsupported: true } }));
  UNSUPPORTED.add(s);
  return s;
}

export const str = z.string();
export const scalar = z.union([z.string(), z.number(), z.boolean()]);
export const strOrList = z.union([z.string(), z.array(z.string())]);
export const duration = z.union([z.string(), z.number()]);
/** A map or a `KEY=VALUE` list (environment, labels, sysctls, driver options). */
export const mapOrList = z.union([z.record(z.string(), z.nullable(scalar)), z.array(z.string())]);
export const o = z.optional;
