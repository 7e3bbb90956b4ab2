import { VigilConfigError } from '../errors.js';

/** Edit distance, for "did you mean" hints on misspelt option names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, prev + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length] as number;
}

const SECRET_NAME = /secret|key|token|passw|auth|cred/i;

/**
 * Throws a {@link VigilConfigError} for an option name that is not one of `known`: a
 * misspelt option silently ignored is a protection silently off.
 */
export function checkKnownOptions(options: object, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    let best: string | undefined;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (const candidate of known) {
      const d = distance(key, candidate);
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
      }
    }
    const at = prefix ? `${prefix}.${key}` : key;
    // A misspelt secret ("apiSecert") must not print the secret in the error.
    const value = SECRET_NAME.test(key) ? '(hidden)' : (options as Record<string, unknown>)[key];
    throw new VigilConfigError(
      'VIGIL_E_UNKNOWN_OPTION',
      at,
      value,
      'which is not an option Vigil knows',
      best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3))
        ? `Did you mean "${prefix ? `${prefix}.` : ''}${best}"?`
        : `Valid options here: ${known.join(', ')}.`,
    );
  }
}
