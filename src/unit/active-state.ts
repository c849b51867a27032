/**
 * systemd's unit `ActiveState` values (src/basic/unit-def.h: active, reloading, inactive, failed, activating,
 * deactivating, maintenance, refreshing) and which of them mean the unit's processes may still run: every
 * one but inactive, failed and maintenance. `refreshing` is a running unit whose namespace is being updated
 * (`systemctl is-active` counts it as active, with reloading). fleet's `/state` reports the same values.
 */

/** The ActiveState values in which a unit may have running processes. */
export const RUNNING_STATES: ReadonlySet<string> = new Set(['active', 'activating', 'deactivating', 'reloading', 'refreshing']);
