/**
 * The data of `fleetkit status`: what {@link buildStatus} takes (everything fetched from fleet or systemd,
 * etcd and the hosts file, plus the clock) and what it returns. The model is also the `--json` document, so
 * its field names are a public contract: they only ever grow.
 */
import type { UnitOption } from '../unit/model.js';
import type { ClusterSpec } from '../cluster/types.js';
import type { ContainerFactsRecord } from '../etcd/container-facts.js';
import type { LeaseLife } from '../etcd/read-facts.js';

/** Where units and their states came from. */
export type StatusSource = 'fleet' | 'systemd';

/** A unit as the scheduler (fleet) knows it. With `--systemd` there is one per unit systemd reports. */
export interface StatusUnit {
  readonly name: string;
  /** fleet's desiredState; undefined with --systemd (systemd has no desired state). */
  readonly desiredState: string | undefined;
  /** fleet's currentState; undefined with --systemd. */
  readonly currentState: string | undefined;
  /** Absent while unscheduled, and for global units. */
  readonly machineID: string | undefined;
  /** The unit's options (for `[X-Fleet]`: why it is not scheduled). */
  readonly options: readonly UnitOption[];
}

/** systemd's view of a unit on one machine. */
export interface StatusUnitState {
  readonly name: string;
  readonly machineID: string | undefined;
  readonly loadState: string | undefined;
  readonly activeState: string | undefined;
  readonly subState: string | undefined;
  /** Automatic restarts (systemd's NRestarts, or the agent's count); undefined when unknown. */
  readonly restarts?: number | undefined;
  /** The main process's last exit status, when known. */
  readonly lastExit?: number | undefined;
  /** When it last became active (ms since the epoch), when known. */
  readonly activeSince?: number | undefined;
}

/** A machine as the cluster lists it: present in the list means seen recently. */
export interface StatusMachineInput {
  readonly id: string;
  readonly primaryIP: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

/** One key under the announcement prefix, as read from etcd. */
export interface StatusKeyValue {
  readonly key: string;
  readonly value: string;
  /** Lease id, "0" when the key has none (it never expires by itself). */
  readonly lease: string;
}

/** The hosts file as read on this host. */
export interface StatusHostsInput {
  readonly file: string;
  /** The file's text; undefined when it could not be read. */
  readonly text: string | undefined;
}

/** Everything `buildStatus` needs: pure data, fetched elsewhere. */
export interface StatusInputs {
  readonly source: StatusSource;
  readonly now: Date;
  /** The cluster spec, when one was given: it says which units to expect and each service's TTL. */
  readonly spec: ClusterSpec | undefined;
  /** The announcement prefix (`/services`); keys below it are `<cluster>/<service>/<instance>` by default. */
  readonly prefix: string;
  readonly units: readonly StatusUnit[];
  readonly states: readonly StatusUnitState[];
  readonly machines: readonly StatusMachineInput[];
  readonly announcements: readonly StatusKeyValue[];
  /** Set when etcd could not be read: announcements are then unknown, not absent. */
  readonly announcementsError?: string | undefined;
  /** Set when fleet or systemd could not be read: units and their states are then unknown, not absent. */
  readonly unitsError?: string | undefined;
  /** What the agents publish of each unit's container (read with the announcements; well-formed records only). */
  readonly facts?: readonly ContainerFactsRecord[] | undefined;
  /**
   * What etcd says of the lease each facts record is on, by `machine/unit` (read-facts.ts leaseLives): a record
   * whose agent no longer renews it is set aside (read-facts.ts factsKeeper). Undefined: not read.
   */
  readonly factsLeases?: ReadonlyMap<string, LeaseLife> | undefined;
  readonly hosts: StatusHostsInput | undefined;
}

/** Kinds of disagreement `status` reports. */
export type StatusFlagCode =
  | 'not-loaded'
  | 'unscheduled'
  | 'failed'
  | 'crash-loop'
  | 'sidekick-failed'
  | 'not-announced'
  | 'not-running'
  | 'stale'
  | 'bad-announcement'
  | 'not-in-hosts'
  | 'waiting'
  | 'not-reported'
  | 'not-active'
  /** A container unit runs, but neither its host nor its machine's agent says how often it restarted. */
  | 'facts-unknown'
  /** Its agent reports its container running another config hash than its unit gives: not restarted since it changed. */
  | 'old-config';

/** One disagreement on one instance. */
export interface StatusFlag {
  readonly code: StatusFlagCode;
  readonly severity: 'WARNING' | 'ERROR';
  /** A sentence for operators, naming what disagrees and, where known, why. */
  readonly message: string;
}

/** What etcd holds for an instance. */
export interface AnnouncementStatus {
  readonly key: string;
  /** null when the value was rejected (see `error`). */
  readonly ip: string | null;
  readonly port: number | null;
  readonly hostname: string | null;
  /** The record's `time` (ISO 8601), as written by the announcer. */
  readonly time: string | null;
  /** Seconds from `time` to the status time; null when `time` is missing or unreadable. */
  readonly ageSeconds: number | null;
  /** True when a lease holds the key (it vanishes by itself when its announcer stops). */
  readonly leased: boolean;
  /** Older than the service's TTL and held by no lease: nothing will ever remove it. */
  readonly stale: boolean;
  /** Why the value was rejected (not JSON, bad address, …); null for a good record. */
  readonly error: string | null;
}

/** One instance of a service: a unit on a machine. */
export interface InstanceStatus {
  /** Full unit name, `web@2.service`. */
  readonly unit: string;
  /** `2` for `web@2.service`; empty for a global or plain unit. */
  readonly instance: string;
  readonly machine: { readonly id: string; readonly ip: string | null } | null;
  /**
   * fleet's desired and current state; null with --systemd or when fleet has no such unit. `current` is
   * also null for a global unit: fleet says `inactive` for it however many machines run it.
   */
  readonly desired: string | null;
  readonly current: string | null;
  /** systemd's load, active and sub state on that machine; null when no state is reported. */
  readonly load: string | null;
  readonly active: string | null;
  readonly sub: string | null;
  /** Automatic restarts and the last exit status, when the host (systemd's NRestarts) or the agent (container facts) says. */
  readonly restarts?: number | null;
  readonly lastExit?: number | null;
  readonly announcement: AnnouncementStatus | null;
  /** Whether this host's hosts file lists the announced address; null when unknown or not applicable. */
  readonly hosts: boolean | null;
  readonly flags: readonly StatusFlag[];
}

/**
 * A global unit on fleet: the machines that should run it (fleet's placement: metadata matches, nothing
 * there it conflicts with) and what they report. It is up only when `active === expected`; `unknown` counts
 * machines that should run it and have published no state for it yet.
 */
export interface GlobalSpread {
  readonly unit: string;
  readonly expected: number;
  readonly active: number;
  readonly failed: number;
  readonly unknown: number;
}

/** A service and its instances, in instance order. */
export interface ServiceStatus {
  readonly name: string;
  readonly global: boolean;
  /** A global unit's machines (fleet, units readable); absent otherwise. */
  readonly spread?: GlobalSpread;
  /** The announcement TTL in seconds; null when the service does not announce or no spec was given. */
  readonly ttl: number | null;
  readonly instances: readonly InstanceStatus[];
}

/** A machine of the cluster. */
export interface MachineStatus {
  readonly id: string;
  readonly ip: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  /** Seen recently: listed by fleet (or, with --systemd, this host answering over D-Bus). */
  readonly on: boolean;
  /** Units scheduled to or reported by this machine. */
  readonly units: number;
}

/** The whole status: the `--json` document. */
export interface StatusModel {
  /** Format version of this document. */
  readonly version: 1;
  /** When the status was taken (ISO 8601, UTC). */
  readonly time: string;
  readonly source: StatusSource;
  readonly cluster: string | null;
  readonly hostsFile: string | null;
  readonly services: readonly ServiceStatus[];
  readonly machines: readonly MachineStatus[];
  /** Total flags over all instances: 0 means everything agrees. */
  readonly problems: number;
  /** What could not be read (etcd down…): the views that depend on it are left out, not guessed. */
  readonly warnings: readonly string[];
}
