/** The parts of a machine plan that its planners (plan.ts, fleet.ts) share. */

/** Which OS family reads the result: Container Linux/Flatcar (cloud-config) or Fedora CoreOS (Butane). */
export type BootTarget = 'container-linux' | 'fcos';

/** A unit of the machine: its own text, or drop-ins for a unit the OS ships. */
export interface PlanUnit {
  readonly name: string;
  /** Full unit text, for units the OS does not ship. */
  readonly contents?: string | undefined;
  readonly dropIns: ReadonlyArray<{ readonly name: string; readonly contents: string }>;
  /** Start it on boot (cloud-config `command: start`; Butane `enabled: true`). */
  readonly start: boolean;
}

export interface PlanFile {
  readonly path: string;
  readonly contents: string;
  readonly mode: number;
}
