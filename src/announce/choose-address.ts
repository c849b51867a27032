/**
 * Which address the agent announces for a container: pure, so every rule is a table test.
 */
import type { ContainerInfo } from '../docker/container-info.js';
import type { FlannelEnv } from '../flannel/subnet-env.js';
import { cidrContains } from '../net/ip-address.js';

/** What the host knows about itself. */
export interface AddressContext {
  /** This host's flannel subnet, when flannel is in use. */
  readonly flannel: FlannelEnv | undefined;
  /** The host's own address (`--ip`, else flannel's PublicIP): announced for host-network containers. */
  readonly hostIP: string | undefined;
}

/** The address to announce, or why there is none (the agent logs the reason at `<3>`). */
export type AddressChoice = { readonly ok: true; readonly ip: string } | { readonly ok: false; readonly reason: string };

/**
 * Host-network containers share the host's address. Others announce their address on the flannel subnet;
 * an address outside it would send peers to an unroutable place, so it is refused rather than announced.
 */
export function chooseAddress(info: ContainerInfo, ctx: AddressContext): AddressChoice {
  if (info.hostNetwork) {
    return ctx.hostIP
      ? { ok: true, ip: ctx.hostIP }
      : { ok: false, reason: 'it uses the host network and the host address is unknown (pass --ip, or run flannel)' };
  }
  if (info.addresses.length === 0) return { ok: false, reason: 'it has no IPv4 address (network "none"?)' };
  if (!ctx.flannel) return { ok: true, ip: info.addresses[0]! };
  const inside = info.addresses.find((ip) => cidrContains(ctx.flannel!.subnet, ip));
  if (inside) return { ok: true, ip: inside };
  return {
    ok: false,
    reason: `its address ${info.addresses.join(', ')} is outside this host's flannel subnet ${ctx.flannel.subnet}` +
      ' (is docker started with --bip from /run/flannel/subnet.env?)',
  };
}
