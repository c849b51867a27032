/**
 * Template loading when fleetkit runs from its TypeScript source (tests, `tsx`): the `.hbs` files are read
 * from `templates/` and compiled with the full handlebars compiler, loaded lazily on first use.
 *
 * The single-file build never runs this module: `scripts/bundle.mjs` replaces it with a module of the same
 * shape whose templates were precompiled at build time and need only `handlebars/runtime` (no compiler, no
 * file reads), which keeps `gen-units` start-up close to Node's own.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The templates in `templates/`, by file name without `.hbs`. */
export const TEMPLATE_NAMES = ['container', 'discovery', 'discovery-legacy', 'agent', 'hosts'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/** A compiled template: view model in, text out. */
export type RenderFn = (view: object) => string;

/** Options every template is compiled with: values arrive quoted by the view model; a missing field throws. */
export const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;

/** Compiles every template from `templates/*.hbs` (synchronously: called once, before the first render). */
export function loadTemplates(): Record<TemplateName, RenderFn> {
  // createRequire keeps the compiler out of the module graph until a render actually needs it.
  const Handlebars = createRequire(import.meta.url)('handlebars') as typeof import('handlebars');
  const hb = Handlebars.create();
  const dir = fileURLToPath(new URL('../../templates/', import.meta.url));
  const out = {} as Record<TemplateName, RenderFn>;
  for (const name of TEMPLATE_NAMES) {
    out[name] = hb.compile(readFileSync(`${dir}${name}.hbs`, 'utf8'), COMPILE_OPTIONS);
  }
  return out;
}
