// The engine over a MemoryStore runs its batches at once (steps.ts); over any other store
// it awaits each. The two must be indistinguishable but for speed: a differential test
// over random traffic, and the driver's own contract.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventType } from '../events.js';
import { localProvider } from '../providers/local.js';
import type { ProviderEvent } from '../providers/types.js';
import { MemoryStore } from '../stores/memory.js';
import type { Store, StoreOp, StoreResult } from '../stores/types.js';
import { drive, type Steps, type StoreRunner } from './steps.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const T0 = Date.UTC(2026, 11, 4, 9);

describe('drive', () => {
  function* counting(): Steps<number[]> {
    const [a] = yield [{ type: 'hit', key: 'a', windowMs: 60_000 }];
    let b: StoreResult | undefined = null;
    try {
      [b] = yield [{ type: 'get', key: 'fails' }];
    } catch (error) {
      b = `caught ${(error as Error).message}`;
    }
    const [c] = yield [{ type: 'hit', key: 'a', windowMs: 60_000 }];
    return [a, b, c] as number[];
  }
  const runners = (): Record<string, StoreRunner> => {
    const memory = new MemoryStore();
    const exec = (ops: StoreOp[], now: number): StoreResult[] => {
      if (ops.some((op) => op.key === 'fails')) throw new Error('down');
      return memory.executeSync(ops, now);
    };
    const memory2 = new MemoryStore();
    const exec2 = (ops: StoreOp[], now: number): StoreResult[] => {
      if (ops.some((op) => op.key === 'fails')) throw new Error('down');
      return memory2.executeSync(ops, now);
    };
    return { sync: { run: async (ops, now) => exec(ops, now), runSync: exec }, async: { run: async (ops, now) => exec2(ops, now) } };
  };

  it('hands each batch its results and throws a failed batch in at its yield, the same with either runner', async () => {
    const { sync, async } = runners();
    const expected = [1, 'caught down', 2];
    expect(await drive(counting(), T0, sync as StoreRunner)).toEqual(expected);
    expect(await drive(counting(), T0, async as StoreRunner)).toEqual(expected);
  });

  it('an error the steps do not catch rejects, never throws', async () => {
    function* failing(): Steps<void> {
      yield [{ type: 'get', key: 'fails' }];
    }
    // biome-ignore lint/correctness/useYield: a step function that fails before its first batch
    function* broken(): Steps<void> {
      throw new Error('bug');
    }
    for (const runner of Object.values(runners())) {
      const outcome = drive(failing(), T0, runner);
      await expect(outcome).rejects.toThrow('down');
      await expect(drive(broken(), T0, runner)).rejects.toThrow('bug');
    }
  });
});

describe('the engine: MemoryStore at once or any store awaited, the same verdicts and the same evidence', () => {
  afterEach(() => vi.restoreAllMocks());

  it('over the shipped MemoryStore, no batch goes through the promise of execute()', async () => {
    const direct = new MemoryStore();
    const execute = vi.spyOn(MemoryStore.prototype, 'execute');
    const provider = localProvider({ store: direct, secret: 'steps-secret-0123456789' });
    const event = { type: '$login', status: '$attempted', name: 'r', requestId: 'x', timestamp: T0, context: { ip: '198.51.100.7', headers: {}, userAgent: CHROME }, user: { email: 'a@example.com' } } as unknown as ProviderEvent;
    const verdict = await provider.filter(event);
    await provider.log({ ...event, status: '$succeeded', memo: verdict.memo });
    expect(execute.mock.contexts.filter((self) => self === direct)).toEqual([]);
    // And the evidence is there: the account is familiar on this network now.
    expect((await direct.keys('k:')).length).toBe(1);
  });

  const step = fc.record({
    type: fc.constantFrom<EventType>('$login', '$login', '$login', '$registration', '$password_reset_request'),
    person: fc.nat(7),
    ip: fc.constantFrom('198.51.100.7', '198.51.100.8', '203.0.113.9', '2001:db8::1', undefined),
    device: fc.constantFrom('d1', 'd2', 'd3', undefined),
    fresh: fc.boolean(),
    ua: fc.constantFrom(CHROME, 'curl/8.5.0', undefined),
    answer: fc.constantFrom('succeeded', 'failed', 'none'),
    gap: fc.integer({ min: 0, max: 120_000 }),
  });

  it('over any sequence of requests and outcomes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const direct = new MemoryStore();
        const awaited = new MemoryStore();
        // A plain object over a MemoryStore: not the shipped class, so its batches are awaited.
        const wrapped: Store = { name: 'wrapped', execute: (ops, now) => awaited.execute(ops, now) };
        const sides = [localProvider({ store: direct, secret: 'steps-secret-0123456789' }), localProvider({ store: wrapped, secret: 'steps-secret-0123456789' })];
        let clock = T0;
        for (const s of steps) {
          clock += s.gap;
          const event: ProviderEvent = {
            type: s.type,
            status: '$attempted',
            name: 'r',
            requestId: 'x',
            timestamp: clock,
            context: { ip: s.ip, headers: { 'user-agent': s.ua ?? '', accept: 'application/json', 'accept-language': 'en' }, userAgent: s.ua, protocol: 'https' } as unknown as ProviderEvent['context'],
            user: { email: `person${s.person}@example.com` },
            ...(s.device === undefined ? {} : { deviceId: s.device, ...(s.fresh ? { deviceFresh: true } : {}) }),
          };
          const verdicts = await Promise.all(sides.map((p) => p.filter(event)));
          expect(verdicts[0]).toEqual(verdicts[1]);
          if (s.answer !== 'none' && (s.type === '$login' || s.type === '$registration')) {
            const outcome = { ...event, status: s.answer === 'succeeded' ? '$succeeded' : '$failed', memo: verdicts[0]?.memo } as ProviderEvent;
            const outcome2 = { ...outcome, memo: verdicts[1]?.memo };
            await Promise.all([sides[0]?.log(outcome), sides[1]?.log(outcome2)]);
          }
        }
        expect(await direct.keys('')).toEqual(await awaited.keys(''));
        expect(direct.size).toBe(awaited.size);
      }),
      { numRuns: 60 },
    );
  });
});
