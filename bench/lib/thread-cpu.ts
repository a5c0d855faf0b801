// CPU seconds of a process by kind of thread, from /proc/<pid>/task/*/stat: where the CPU that is not
// the JavaScript main thread goes (V8's GC and compiler workers, librdkafka's threads, libuv's pool).
import { readdirSync, readFileSync } from 'node:fs';

export type ThreadKind = 'main' | 'v8 workers' | 'librdkafka' | 'libuv pool' | 'other';
export const THREAD_KINDS: ThreadKind[] = ['main', 'v8 workers', 'librdkafka', 'libuv pool', 'other'];

/** USER_HZ: 100 on Linux for every architecture Node supports. */
const TICKS_PER_SECOND = 100;

function kindOf(pid: number, tid: number, comm: string): ThreadKind {
  if (tid === pid) return 'main';
  if (comm.startsWith('V8') || comm.startsWith('v8:')) return 'v8 workers';
  if (comm.startsWith('rdk:')) return 'librdkafka';
  if (comm.startsWith('libuv-worker')) return 'libuv pool';
  return 'other';
}

/** Seconds of user+system CPU per kind of thread, threads that already exited not included. */
export function threadCpu(pid: number): Record<ThreadKind, number> {
  const out: Record<ThreadKind, number> = {
    main: 0,
    'v8 workers': 0,
    librdkafka: 0,
    'libuv pool': 0,
    other: 0,
  };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[kindOf(pid, Number(t), comm)] += (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
    } catch {
      // The thread exited meanwhile.
    }
  }
  return out;
}
