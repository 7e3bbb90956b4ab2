import { readFileSync } from 'node:fs';
import { LABELS } from './report.mjs';
import { PEOPLE } from './scenarios.mjs';

/** A reason with its numbers taken out, so that "5 accounts" and "6 accounts" count as one rule. */
const rule = (reason) => reason.replace(/\d+(\.\d+)?/g, 'N');

/**
 * Why people were stopped: from the --why harness's decision log, per population, the
 * reasons of the decisions whose action (blocking mode) or wouldAction (monitoring)
 * was not `allow`, most frequent first. Markdown.
 */
export function whyTable(file, { mode, populations = PEOPLE, top = 4 } = {}) {
  const rows = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const d = JSON.parse(line);
    if (!populations.includes(d.tag)) continue;
    const action = mode === 'monitoring' ? d.wouldAction : d.action;
    if (!rows.has(d.tag)) rows.set(d.tag, { requests: 0, stopped: 0, reasons: new Map() });
    const row = rows.get(d.tag);
    row.requests++;
    // A challenge that was solved went on to the route (its decision says allow, and a
    // provider that answered challenge anyway is not a 403): not stopped.
    if (action === 'allow' || (mode !== 'monitoring' && action === 'challenge' && d.status !== 403)) continue;
    row.stopped++;
    // The provider's reasons come first; the policy's last line says what it did with them.
    const key = `${action}: ${(d.reasons ?? []).slice(0, -1).map(rule).join(' + ') || rule(d.reasons?.[0] ?? '?')}`;
    row.reasons.set(key, (row.reasons.get(key) ?? 0) + 1);
  }
  const lines = [`| ${mode === 'monitoring' ? 'would stop' : 'stopped'} people | requests | ${mode === 'monitoring' ? 'would block / challenge' : 'blocked / challenged'} | why (most frequent first) |`, '|---|---:|---:|---|'];
  for (const p of populations) {
    const row = rows.get(p);
    if (!row) continue;
    const why = [...row.reasons].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, n]) => `${n}× ${k}`).join('<br>');
    lines.push(`| ${LABELS[p] ?? p} | ${row.requests} | ${row.stopped} | ${why || '–'} |`);
  }
  return lines.join('\n');
}
