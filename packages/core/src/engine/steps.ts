import type { StoreOp, StoreResult } from '../stores/types.js';

/**
 * A computation over the store written once for every kind of store: it yields each
 * batch it needs and is handed back the batch's results (or has the store's error
 * thrown in at that `yield`). Its return value is what the computation concludes.
 */
export type Steps<T> = Generator<StoreOp[], T, StoreResult[]>;

/** How the engine reaches its store. */
export interface StoreRunner {
  /** Runs a batch, rejecting with `VigilStoreError` when the store fails. */
  run(ops: StoreOp[], now: number): Promise<StoreResult[]>;
  /**
   * Runs a batch at once, throwing `VigilStoreError` when the store fails: only for a
   * store in this process that settles every batch synchronously (`MemoryStore`). With
   * it, a decision or an outcome is one promise in all instead of one per batch and per
   * layer, and nothing waits for a turn of the event loop it does not need.
   */
  runSync?(ops: StoreOp[], now: number): StoreResult[];
}

/** Runs the steps' batches on the store (at once when it can) and settles with their conclusion. */
export function drive<T>(steps: Steps<T>, now: number, store: StoreRunner): Promise<T> {
  const runSync = store.runSync;
  if (runSync === undefined) return driveAsync(steps, now, store);
  try {
    let step = steps.next();
    while (!step.done) {
      let results: StoreResult[];
      try {
        results = runSync(step.value, now);
      } catch (error) {
        step = steps.throw(error);
        continue;
      }
      step = steps.next(results);
    }
    return Promise.resolve(step.value);
  } catch (error) {
    return Promise.reject(error);
  }
}

async function driveAsync<T>(steps: Steps<T>, now: number, store: StoreRunner): Promise<T> {
  let step = steps.next();
  while (!step.done) {
    let results: StoreResult[];
    try {
      results = await store.run(step.value, now);
    } catch (error) {
      step = steps.throw(error);
      continue;
    }
    step = steps.next(results);
  }
  return step.value;
}
