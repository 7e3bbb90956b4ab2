import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIncidentTracker, type IncidentTrackerOptions } from './incidents.js';

function setup(options: Partial<IncidentTrackerOptions> = {}) {
  let now = 1_000_000;
  const lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const tracker = createIncidentTracker({
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    codes: { start: 'T_W_DOWN', ongoing: 'T_W_STILL_DOWN', end: 'T_I_BACK' },
    fields: { store: 'test' },
    subject: 'the test store',
    clock: () => now,
    ...options,
  });
  return {
    tracker,
    lines,
    codes: () => lines.map((l) => l.obj.code),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('incident tracker', () => {
  it('1 000 failures in a row log exactly one start line', () => {
    const { tracker, lines, advance } = setup();
    for (let i = 0; i < 1000; i++) {
      tracker.failure('timeout', { details: { err: `attempt ${i}` } });
      advance(10); // 10 s in all: less than a summary period
    }
    expect(lines).toEqual([{ level: 'warn', obj: { code: 'T_W_DOWN', store: 'test', reason: 'timeout', err: 'attempt 0' }, msg: expect.stringContaining('the test store is failing (timeout)') }]);
    expect(tracker).toMatchObject({ active: true, incidents: 1 });
  });

  it('a summary once per minute of failures, with counts by reason, then one end line with the totals', () => {
    const { tracker, lines, codes, advance } = setup();
    // Five minutes of failures, one every 100 ms, one in four a timeout; a failed
    // outcome counts no extra request.
    for (let i = 0; i < 3000; i++) {
      if (i % 4 === 0) tracker.failure('timeout');
      else if (i % 4 === 1) tracker.failure('log failed', { requests: 0 });
      else tracker.failure('store error');
      advance(100);
    }
    expect(codes()).toEqual(['T_W_DOWN', 'T_W_STILL_DOWN', 'T_W_STILL_DOWN', 'T_W_STILL_DOWN', 'T_W_STILL_DOWN']);
    const first = lines[1]?.obj;
    // The summary at t = 60 s counts the 600 failures after the start line's.
    expect(first).toMatchObject({ failures: 600, requests: 450, reasons: { timeout: 150, 'log failed': 150, 'store error': 300 }, periodMs: 60_000, durationMs: 60_000, totalFailures: 601 });
    expect(lines.slice(1).every((l) => l.level === 'warn' && l.obj.store === 'test')).toBe(true);
    // Successes within the quiet period do not end it (the first one, a minute after the
    // last summary, writes the fifth)...
    tracker.success();
    expect(codes().at(-1)).toBe('T_W_STILL_DOWN');
    expect(lines).toHaveLength(6);
    advance(9_000);
    tracker.success();
    expect(tracker.active).toBe(true);
    // ...the first one 10 s after the last failure does.
    advance(1_000);
    tracker.success();
    expect(tracker.active).toBe(false);
    expect(lines.at(-1)).toMatchObject({
      level: 'info',
      obj: { code: 'T_I_BACK', store: 'test', failures: 3000, requests: 2250, reasons: { timeout: 750, 'log failed': 750, 'store error': 1500 }, durationMs: 299_900 },
    });
    tracker.success();
    expect(lines).toHaveLength(7);
  });

  it('flapping (Redis at maxmemory: success, failure, success…) is one incident', () => {
    const { tracker, codes, advance } = setup();
    // 237 failures in 5 s, each followed by a success.
    for (let i = 0; i < 237; i++) {
      tracker.failure('error');
      advance(10);
      tracker.success();
      advance(11);
    }
    expect(codes()).toEqual(['T_W_DOWN']);
    advance(10_000);
    tracker.success();
    expect(codes()).toEqual(['T_W_DOWN', 'T_I_BACK']);
    expect(tracker.incidents).toBe(1);
  });

  it('any sequence of successes and failures logs at most 2 lines per quiet period plus 1 per summary period', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20_000 })), { maxLength: 400 }), (steps) => {
        const { tracker, lines, advance } = setup();
        let elapsed = 0;
        for (const [ok, gap] of steps) {
          if (ok) tracker.success();
          else tracker.failure('error');
          advance(gap);
          elapsed += gap;
        }
        const starts = lines.filter((l) => l.obj.code === 'T_W_DOWN').length;
        const ends = lines.filter((l) => l.obj.code === 'T_I_BACK').length;
        const summaries = lines.filter((l) => l.obj.code === 'T_W_STILL_DOWN').length;
        expect(starts).toBeLessThanOrEqual(Math.floor(elapsed / 10_000) + 1);
        expect(ends).toBeLessThanOrEqual(starts);
        expect(summaries).toBeLessThanOrEqual(Math.floor(elapsed / 60_000));
      }),
    );
  });

  it('a failure after the end is a new incident; the start line may take the failure’s own code', () => {
    const { tracker, codes, advance } = setup();
    tracker.failure('error');
    advance(10_000);
    tracker.success();
    expect(tracker.failure('log failed', { code: 'T_W_LOG_FAILED' })).toBe(true);
    expect(codes()).toEqual(['T_W_DOWN', 'T_I_BACK', 'T_W_LOG_FAILED']);
    expect(tracker.incidents).toBe(2);
  });

  it('a more severe failure than the incident began with gets its own line, once; a milder one none', () => {
    const { tracker, codes } = setup();
    tracker.failure('log: store error', { code: 'T_W_LOG_FAILED' });
    for (let i = 0; i < 100; i++) {
      tracker.failure('store error', { severity: 1 });
      tracker.failure('log: store error', { code: 'T_W_LOG_FAILED' });
    }
    expect(codes()).toEqual(['T_W_LOG_FAILED', 'T_W_DOWN']);
    expect(tracker.incidents).toBe(1);
    const reverse = setup();
    reverse.tracker.failure('store error', { severity: 1 });
    reverse.tracker.failure('log: store error', { code: 'T_W_LOG_FAILED' });
    expect(reverse.codes()).toEqual(['T_W_DOWN']);
  });

  it('a logger without info() gets the end line at warn; a throwing logger breaks nothing', () => {
    const warned: unknown[] = [];
    let now = 0;
    const tracker = createIncidentTracker({ logger: { warn: (obj) => warned.push(obj), error: () => {} }, codes: { start: 'S', ongoing: 'O', end: 'E' }, clock: () => now });
    tracker.failure('x');
    now += 10_000;
    tracker.success();
    expect(warned).toMatchObject([{ code: 'S' }, { code: 'E' }]);
    const broken = createIncidentTracker({
      logger: {
        warn: () => {
          throw new Error('disk full');
        },
        error: () => {},
      },
      codes: { start: 'S', ongoing: 'O', end: 'E' },
    });
    expect(broken.failure('x')).toBe(true);
  });
});
