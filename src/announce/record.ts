/**
 * The announcement record: the JSON value fleetkit's agent puts in etcd for each live container, under
 * `<prefix>/<cluster>/<service>/<instance>` by default. Other tools read it (README documents it), so its
 * fields only ever grow. Validation of values read back from etcd lives with the reader (src/hosts).
 */

/** Schema version written in every record. */
export const RECORD_VERSION = 1;

export interface AnnouncementRecord {
  /** The container's address: on the flannel subnet of the host when flannel is in use. */
  readonly ip: string;
  /** The announced container port, when known. */
  readonly port?: number;
  /** Name for the hosts file (`IP hostname hostname.cluster`), an RFC 1123 label such as `web-1`. */
  readonly hostname: string;
  /** The machine's host name. */
  readonly host: string;
  /** The host's address (flannel's PublicIP when flannel is in use): ties the record to the host's lease. */
  readonly hostIP?: string;
  /** systemd/fleet machine id of the host (32 hex). */
  readonly machine: string;
  /** The container's name. */
  readonly container: string;
  readonly version: typeof RECORD_VERSION;
  /** When this announcement was made (ISO 8601, UTC). */
  readonly time: string;
  /**
   * Further names for the containers' hosts file (`fleetkit watch-hosts --containers-file`): the bare service
   * name, then Compose `aliases`. Absent when there are none.
   */
  readonly aliases?: readonly string[] | undefined;
  /** Extra string fields from the registration (`--extra NAME=VALUE`); absent when there are none. */
  readonly extra?: Readonly<Record<string, string>> | undefined;
}

/** Serializes a record the same way everywhere (stable key order). */
export function serializeRecord(r: AnnouncementRecord): string {
  return JSON.stringify({
    ip: r.ip,
    ...(r.port === undefined ? {} : { port: r.port }),
    hostname: r.hostname,
    host: r.host,
    ...(r.hostIP === undefined ? {} : { hostIP: r.hostIP }),
    machine: r.machine,
    container: r.container,
    version: r.version,
    time: r.time,
    ...(r.aliases === undefined ? {} : { aliases: r.aliases }),
    ...(r.extra === undefined ? {} : { extra: r.extra }),
  });
}
