/**
 * The one door to the handlebars templates. Callers name a template and pass a finished view model; whether
 * the template was compiled from `templates/*.hbs` at run time (source) or precompiled into the single-file
 * build (see `scripts/bundle.mjs`) stays hidden here.
 */
import { loadTemplates, type RenderFn, type TemplateName } from './template-specs.js';

export type { TemplateName } from './template-specs.js';

let compiled: Record<TemplateName, RenderFn> | undefined;

/** Renders template `name` with `view`. Throws (strict mode) when the view lacks a field the template uses. */
export function renderTemplate(name: TemplateName, view: object): string {
  compiled ??= loadTemplates();
  return compiled[name](view);
}
