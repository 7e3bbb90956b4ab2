/**
 * A small seeded PRNG (mulberry32): every scenario draws from its own stream, so a
 * seed reproduces the same traffic whatever the timing of responses.
 */
export function createRng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    /** Picks by `weight` (cumulative table built once per list). */
    weighted(list, cumulative) {
      const r = next() * cumulative[cumulative.length - 1];
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cumulative[mid] < r) lo = mid + 1;
        else hi = mid;
      }
      return list[lo];
    },
    /** An independent stream derived from this one, for a sub-scenario. */
    fork: (label) => createRng(hashSeed(`${state}:${label}`)),
  };
  return rng;
}

/** A 32-bit seed from a string (FNV-1a). */
export function hashSeed(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
