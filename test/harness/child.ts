// The end of a child process the harnesses start: exit, or failure to spawn at all.
import type { ChildProcess } from 'node:child_process';

export interface ChildEnd {
  /** Why it ended (`exit 1`, `signal SIGKILL`, a spawn error), or undefined while it runs. */
  reason(): string | undefined;
  /** Resolves when it has ended. */
  done: Promise<void>;
}

/** Watches `child`; `onEnd` runs once when it ends (e.g. to forget it in a cleanup list). */
export function watchEnd(child: ChildProcess, onEnd: () => void = () => {}): ChildEnd {
  let reason: string | undefined;
  const done = new Promise<void>((res) => {
    const end = (why: string) => {
      if (reason !== undefined) return;
      reason = why;
      onEnd();
      res();
    };
    child.once('exit', (code, signal) => end(signal ? `signal ${signal}` : `exit ${code}`));
    child.once('error', (err) => end(err.message));
  });
  return { reason: () => reason, done };
}
