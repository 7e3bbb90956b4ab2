import { readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

/**
 * CPU seconds a process has used so far, from /proc/<pid>/stat: `user` (its own code:
 * JavaScript, V8, libuv) and `system` (the kernel on its behalf: socket reads and
 * writes). The kernel's share per request grows as throughput falls (fewer requests per
 * wakeup, more wakeups of the load generator per response), so user time is the fairer
 * measure of what a middleware itself costs; both are reported.
 */
export function cpuTimes(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / TICKS, system: Number(fields[12]) / TICKS };
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

/** CPU seconds (user + system) a process has used so far; see {@link cpuTimes}. */
export function cpuSeconds(pid) {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/** Peak resident set size of a process (VmHWM), in MB. */
export function peakRssMb(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Machine-wide CPU time counters from /proc/stat (ticks): total and steal. */
export function machineTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    return { total: values.reduce((a, b) => a + b, 0), steal: values[7] ?? 0 };
  } catch {
    return { total: Number.NaN, steal: Number.NaN };
  }
}
