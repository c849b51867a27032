/** The package version, kept in one place (fleetkit --version, gen-units --version). */
export const VERSION = '0.1.0';
