import type { Provider, ProviderEvent, Verdict } from '../providers/types.js';
import { MemoryStore } from '../stores/memory.js';
import type { Store, StoreOp, StoreResult } from '../stores/types.js';

/** One operation a {@link RecordingStore} saw. */
export interface RecordedOp {
  type: StoreOp['type'];
  key: string;
  member?: string;
  value?: string;
}

/**
 * A real `MemoryStore` behind a recorder: every operation, and every string the store
 * was given or gave back (keys, members, values, listed keys). For tests that must show
 * what reached a store — that no raw email did, say.
 *
 * @example
 * const store = new RecordingStore()
 * // ... requests through createVigil({ provider: localProvider({ store }) }) ...
 * expect(store.strings.join('\n')).not.toMatch(/alice@example\.com/)
 */
export class RecordingStore implements Store {
  readonly name = 'recording';
  readonly inner: MemoryStore;
  /** Every operation, in order. */
  readonly ops: RecordedOp[] = [];
  /** Every string the store was given or gave back. */
  readonly strings: string[] = [];

  constructor(inner: MemoryStore = new MemoryStore({ maxKeys: 10_000 })) {
    this.inner = inner;
  }

  async execute(ops: readonly StoreOp[], now?: number): Promise<StoreResult[]> {
    for (const op of ops) {
      const recorded: RecordedOp = { type: op.type, key: op.key };
      this.strings.push(op.key);
      if (op.type === 'distinct' && op.member !== undefined) {
        recorded.member = op.member;
        this.strings.push(op.member);
      }
      if (op.type === 'set') {
        recorded.value = op.value;
        this.strings.push(op.value);
      }
      this.ops.push(recorded);
    }
    const results = await this.inner.execute(ops, now);
    for (const result of results) if (typeof result === 'string') this.strings.push(result);
    return results;
  }

  async keys(prefix: string): Promise<string[]> {
    const keys = await this.inner.keys(prefix);
    this.strings.push(prefix, ...keys);
    return keys;
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  /** Everything the store saw, as one string. */
  dump(): string {
    return JSON.stringify(this.ops);
  }
}

/**
 * A provider that records every call and answers with `verdict` (or what a function of
 * the event returns). For adapter tests: a real provider, never a mock of core.
 *
 * @example
 * const { provider, calls } = recordingProvider({ risk: 0.95 })
 */
export function recordingProvider(verdict: Verdict | ((event: ProviderEvent) => Verdict | Promise<Verdict>) = { risk: 0 }) {
  const calls = { filter: [] as ProviderEvent[], risk: [] as ProviderEvent[], log: [] as ProviderEvent[], close: 0 };
  const answer = async (event: ProviderEvent) => (typeof verdict === 'function' ? verdict(event) : verdict);
  const provider: Provider = {
    name: 'recording',
    filter: async (event) => {
      calls.filter.push(event);
      return answer(event);
    },
    risk: async (event) => {
      calls.risk.push(event);
      return answer(event);
    },
    log: async (event) => {
      calls.log.push(event);
    },
    close: async () => {
      calls.close++;
    },
  };
  return { provider, calls };
}

/**
 * What a {@link recordingProvider} saw of the device cookie: per decision
 * `[deviceId, deviceFresh]`, per logged outcome `[status, deviceId, deviceFresh]`, and
 * whether any event carried the cookie itself (its name or its `signature`), which it
 * never may: the provider gets the id only.
 */
export function deviceTrail(calls: { filter: ProviderEvent[]; log: ProviderEvent[] }, signature: string) {
  const seen = JSON.stringify([calls.filter, calls.log]);
  return {
    decisions: calls.filter.map((e) => [e.deviceId, e.deviceFresh]),
    outcomes: calls.log.map((e) => [e.status, e.deviceId, e.deviceFresh]),
    cookieSeen: seen.includes(signature) || seen.includes('vigil_did'),
  };
}
