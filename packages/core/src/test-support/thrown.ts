// Shared by the unit tests (never bundled: no entry imports it).
import { expect } from 'vitest';
import { VigilConfigError } from '../errors.js';

/** Catches what `fn` throws, failing the test when it throws nothing or throws anything but a {@link VigilConfigError}. */
export function thrown(fn: () => unknown): VigilConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VigilConfigError);
    return err as VigilConfigError;
  }
  throw new Error('expected a VigilConfigError, nothing was thrown');
}
