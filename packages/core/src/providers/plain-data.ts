/** Limits of {@link copyPlainData}. */
export interface PlainDataLimits {
  /** Deepest nesting kept; deeper values are dropped. Default 8. */
  maxDepth?: number;
  /** Most values (objects, arrays and leaves) copied in all; the rest is dropped. Default 1000. */
  maxValues?: number;
  /** Longest string kept; longer ones are cut. Default 2048. */
  maxStringLength?: number;
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Internal (not exported by the package): on Vigil's own embedded engine provider, its
 * scoring function, whose verdicts' `signals` maps are frozen plain data already. A
 * provider whose `filter` and `risk` are still that function (the engine, or a spread of
 * it) has its maps taken as they are; one that replaced either (a wrapper with signals
 * of its own) is copied as any other ({@link copyPlainData}).
 */
export const PLAIN_SIGNALS: unique symbol = Symbol('vigil.plainSignals');

/** Whether the provider's verdicts carry frozen plain signals (see {@link PLAIN_SIGNALS}). */
export function givesPlainSignals(provider: { filter?: unknown; risk?: unknown; [PLAIN_SIGNALS]?: unknown }): boolean {
  const score = provider[PLAIN_SIGNALS];
  return typeof score === 'function' && provider.filter === score && provider.risk === score;
}

/**
 * A frozen copy of the JSON data in `value`: strings, finite numbers, booleans and null,
 * in plain objects and arrays. Everything else is left out — functions, symbols,
 * BigInts, class instances, cyclic references, getters that throw, and whatever lies
 * beyond the limits — so that `JSON.stringify` of the copy never throws and never
 * grows without bound. What providers put in a verdict's `signals` goes through it
 * before it reaches a decision.
 *
 * @example
 * const signals: Record<string, unknown> = { bot: { score: 0.9 }, at: () => 1 }
 * signals.self = signals
 * copyPlainData(signals) // { bot: { score: 0.9 } }
 */
export function copyPlainData(value: Readonly<Record<string, unknown>>, limits: PlainDataLimits = {}): Readonly<Record<string, unknown>> {
  const maxDepth = limits.maxDepth ?? 8;
  const maxStringLength = limits.maxStringLength ?? 2048;
  let budget = limits.maxValues ?? 1000;
  // The objects being copied, from the root down: a value that is one of them is a cycle.
  const ancestors = new Set<object>();

  const copy = (input: unknown, depth: number): unknown => {
    if (budget <= 0) return undefined;
    switch (typeof input) {
      case 'string':
        budget--;
        return input.length > maxStringLength ? input.slice(0, maxStringLength) : input;
      case 'number':
        if (!Number.isFinite(input)) return undefined;
        budget--;
        return input;
      case 'boolean':
        budget--;
        return input;
      case 'object':
        break;
      default:
        return undefined;
    }
    if (input === null) {
      budget--;
      return null;
    }
    if (depth >= maxDepth || ancestors.has(input)) return undefined;
    // Reads the value at `key`; a getter or a proxy trap that throws leaves it out.
    const read = (from: object, key: string | number): unknown => {
      try {
        return (from as Record<string | number, unknown>)[key];
      } catch {
        return undefined;
      }
    };
    let out: unknown[] | Record<string, unknown>;
    try {
      if (Array.isArray(input)) {
        budget--;
        ancestors.add(input);
        const items: unknown[] = [];
        for (let i = 0; i < input.length && budget > 0; i++) {
          const item = copy(read(input, i), depth + 1);
          if (item !== undefined) items.push(item);
        }
        out = items;
      } else {
        const proto = Object.getPrototypeOf(input);
        if (proto !== Object.prototype && proto !== null) return undefined;
        const keys = Object.keys(input);
        budget--;
        ancestors.add(input);
        const fields: Record<string, unknown> = {};
        for (const key of keys) {
          if (budget <= 0) break;
          // Assigning "__proto__" would set the copy's prototype instead of a field.
          if (key === '__proto__') continue;
          const field = copy(read(input, key), depth + 1);
          if (field !== undefined) fields[key] = field;
        }
        out = fields;
      }
    } catch {
      // A proxy whose traps throw (or a revoked one) is not plain data.
      return undefined;
    } finally {
      ancestors.delete(input);
    }
    return Object.freeze(out);
  };

  if (value === null || typeof value !== 'object' || Array.isArray(value)) return EMPTY;
  const copied = copy(value, 0);
  return copied === undefined ? EMPTY : (copied as Readonly<Record<string, unknown>>);
}
