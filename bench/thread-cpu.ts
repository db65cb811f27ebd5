/**
 * @module bench/thread-cpu — CPU time of this process's threads (Linux, /proc/self/task/<tid>/stat). On a machine
 * loaded by other jobs the wall time of a step says how much CPU the scheduler gave it; its threads' CPU time says how
 * much work each did, so a data-parallel step's critical path can be read off whatever the load: the busiest thread
 * when they overlap. Clock ticks of 10 ms: add up runs of ≥ 1 s. Null where /proc is absent.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Milliseconds of CPU (user + system) used so far, by thread id. */
export type ThreadCpu = Map<number, number>;

const tickMilliseconds = 10; // USER_HZ is 100 on Linux

/** The CPU time so far of every thread of this process, or null where /proc/self/task cannot be read. */
export function threadCpu(): ThreadCpu | null {
  try {
    const threads: ThreadCpu = new Map();
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        // after the parenthesised name come the fields from 3 (state) on; utime and stime are fields 14 and 15
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        threads.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * tickMilliseconds);
      } catch {
        // a thread that ended between the listing and the read
      }
    }
    return threads;
  } catch {
    return null;
  }
}

/** CPU used between two readings: the main thread's, the busiest other thread's, and all other threads'. */
export interface CpuSpent {
  main: number;
  busiestOther: number;
  others: number;
}

export function cpuSince(before: ThreadCpu | null, after: ThreadCpu | null): CpuSpent | null {
  if (!before || !after) return null;
  const spent: CpuSpent = { main: 0, busiestOther: 0, others: 0 };
  for (const [tid, milliseconds] of after) {
    const used = milliseconds - (before.get(tid) ?? 0);
    if (tid === process.pid) spent.main += used;
    else {
      spent.others += used;
      spent.busiestOther = Math.max(spent.busiestOther, used);
    }
  }
  return spent;
}

/**
 * The wall time a span's work needs at least on `cores` idle cores: its busiest thread's CPU (threads overlap, a
 * thread does not split), and no less than all its CPU spread over the cores.
 */
export function idleCoresMilliseconds(spent: CpuSpent, cores: number): number {
  return Math.max(spent.main, spent.busiestOther, (spent.main + spent.others) / cores);
}

/** The sum of several spans. */
export function addCpu(total: CpuSpent, span: CpuSpent | null): CpuSpent {
  if (!span) return total;
  return {
    main: total.main + span.main,
    busiestOther: total.busiestOther + span.busiestOther,
    others: total.others + span.others,
  };
}
