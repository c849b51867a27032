/**
 * What the user asked for, per unit: the unit as fleet takes it and the file systemd reads.
 */
import type { UnitFile } from '../unit/model.js';

/** One unit to load: its fleet form (full options; instances carry the template's) and its systemd file. */
export interface DesiredUnit {
  /** The fleet unit: name (instance name for instances) and full options. */
  readonly unit: UnitFile;
  /** The file systemd reads: the template's file for an instance (systemd instantiates by itself). */
  readonly file: string;
  /** That file's text. */
  readonly text: string;
  /** In the start set (instances and plain units); false for templates and units only submitted. */
  readonly start: boolean;
}
