/**
 * @vigil/express — placeholder entry point.
 *
 * The adapter itself is built in a later issue; this entry exists so the workspace
 * graph, the build and the ESM/CommonJS compatibility tests are in place from day one.
 */

/** Version of this package, kept in step with package.json. */
export const VERSION = '0.1.0';
