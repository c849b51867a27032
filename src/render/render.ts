/**
 * `renderCluster`: ClusterSpec → every unit file `gen-units` writes, and the units to start. Pure.
 *
 * Two passes (names first, then text), one template per kind of unit. The templates lay out directives;
 * the view models (plan-*.ts) compute and quote every value. Each rendered text is then parsed back with
 * the same unit parser the loaders use, so the options handed to fleet's API are, by construction, what a
 * `fleetctl start` of the file on disk would submit — text and options can never disagree. The parsed unit
 * is checked once more: names, fleet's 2048-byte line limit (parseUnit), and `[X-Fleet]` combinations
 * fleet rejects or values it would silently ignore (a safety net behind the spec loader, which reports them
 * with positions).
 */
import type { ClusterSpec } from '../cluster/types.js';
import type { UnitFile } from '../unit/model.js';
import { formatProblem, UnitError } from '../errors.js';
import { parseUnit } from '../unit/parse.js';
import { agentUnitName, hostsUnitName, hostUnitNames, validateUnitName } from '../unit/names.js';
import { xfleetIgnored, xfleetRejection } from '../unit/xfleet.js';
import { assertNoMarks } from './exec-line.js';
import { planContainer, serviceNames } from './plan-container.js';
import { awaitPrefix } from './plan-await.js';
import { discoveryTemplate, planDiscovery } from './plan-discovery.js';
import { hostsPrepareCommand, planAgent, planHosts } from './plan-fleetkit.js';
import { renderTemplate, type TemplateName } from './templates.js';
import { generatedHeader, hostView } from './view-parts.js';
import { checkRendered } from './check-target.js';

/** One file to write. */
export interface RenderedUnit {
  /** Unit name: `web@.service`, `web-discovery@.service`, `fleetkit-agent-NAME.service`. */
  readonly name: string;
  /** The file's text, starting with the generated-file mark. */
  readonly text: string;
  /** The same unit as options (fleet API, D-Bus loader). */
  readonly unit: UnitFile;
  /** File name relative to the output directory. */
  readonly path: string;
}

export interface RenderResult {
  /** Files in a stable order: fleetkit's units, then per service its container unit and its sidekick. */
  readonly files: readonly RenderedUnit[];
  /**
   * Units to start, instances included: the agent and the hosts watcher first (sidekicks register with the
   * agent), then per service its containers, then their sidekicks.
   */
  readonly start: readonly string[];
  readonly warnings: readonly string[];
}

/** Renders every unit of `spec`. Throws UnitError when a unit would be invalid. */
export function renderCluster(spec: ClusterSpec): RenderResult {
  assertNoMarks(JSON.stringify(spec), spec.file);
  const header = generatedHeader(spec.file);
  const files: RenderedUnit[] = fleetkitFiles(spec, header);
  const start: string[] = [...hostUnitNames(spec.name)];
  // The spec's own warnings (keys that do less than under Compose), located, first.
  const warnings: string[] = spec.warnings.map(formatProblem);
  const host = hostView(spec);
  for (const service of spec.services) {
    const names = serviceNames(service);
    const container = renderOne(names.unit, 'container', planContainer(service, host, header, spec.name, names, awaitPrefix(spec, service), hostsPrepareCommand(spec)));
    files.push(container);
    warnings.push(...checkRendered(container, host.target, service));
    start.push(...names.instances);
    const discovery = planDiscovery(spec, service, header, host, names);
    if (discovery && names.discovery) {
      const sidekick = renderOne(names.discovery, discoveryTemplate(host), discovery);
      files.push(sidekick);
      warnings.push(...checkRendered(sidekick, host.target, undefined));
      start.push(...names.discoveryInstances);
    }
    if (service.announce && service.announce.port === undefined) {
      warnings.push(`${names.unit}: x-announce has no port and the service publishes none; announcements carry no port`);
    }
  }
  return { files, start, warnings };
}

/** fleetkit's own global units only (the repository's `units/`). */
export function renderFleetkitUnits(spec: ClusterSpec): RenderedUnit[] {
  assertNoMarks(JSON.stringify(spec), spec.file);
  return fleetkitFiles(spec, generatedHeader(spec.file));
}

function fleetkitFiles(spec: ClusterSpec, header: string): RenderedUnit[] {
  const files = [renderOne(agentUnitName(spec.name), 'agent', planAgent(spec, header)), renderOne(hostsUnitName(spec.name), 'hosts', planHosts(spec, header))];
  // fleetkit's own units carry nothing from the spec that could be newer than the target: a finding is an error.
  for (const f of files) checkRendered(f, hostView(spec).target, undefined);
  return files;
}

/** Renders one template, parses the text back and checks the unit. */
function renderOne(name: string, template: TemplateName, view: object): RenderedUnit {
  validateUnitName(name);
  const text = renderTemplate(template, view);
  // parseUnit reads the text as fleet does and refuses a line fleet would refuse (over 2048 bytes), naming
  // the directive.
  const unit = parseUnit(name, text);
  // fleet's API refuses these; the spec loader reports them with positions, so this is a safety net.
  const rejected = xfleetRejection(unit);
  if (rejected) throw new UnitError('ERR_UNIT_XFLEET', rejected, { unit: name });
  // …and a value fleet would silently ignore would schedule the unit somewhere the spec did not say.
  const ignored = xfleetIgnored(unit);
  if (ignored.length) throw new UnitError('ERR_UNIT_XFLEET', ignored.join('; '), { unit: name });
  return { name, text, unit, path: name };
}
