// Where things live in the fleetkit image. scripts/image.mjs builds the image from these values and
// image/Dockerfile spells out the same ones (test/ship/image.test.ts holds the two to each other), so an
// image built either way runs the same units.

/** The node binary. */
export const NODE = '/usr/bin/node';
/** The single-file build (dist/fleetkit.cjs). */
export const BUNDLE = '/usr/lib/fleetkit/fleetkit.cjs';
/** The command on PATH, for `docker exec CONTAINER fleetkit …` (image/fleetkit). */
export const LAUNCHER = '/usr/bin/fleetkit';
/** `docker run IMAGE ARGS…` runs `fleetkit ARGS…`. */
export const ENTRYPOINT = [NODE, BUNDLE];
/** The image's environment. */
export const ENV = ['PATH=/usr/bin:/bin'];
/** Working directory of every process in the container. */
export const WORKDIR = '/';
