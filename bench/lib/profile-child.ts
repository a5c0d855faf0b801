// Preloaded into a benchmarked child (`node --import ./bench/lib/profile-child.ts bin/kubetriage.js run`):
// on SIGUSR2 (sent once the child is ready, so start-up is left out) it starts V8's CPU profiler and
// the sampling heap profiler with collected objects kept, i.e. every allocation sampled, not only what
// survives; on exit it writes <dir>/cpu.cpuprofile and <dir>/alloc.heapprofile (KUBETRIAGE_PROFILE_DIR).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.KUBETRIAGE_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 500 });
    session.post('Profiler.start');
    session.post('HeapProfiler.enable');
    session.post('HeapProfiler.startSampling', {
      samplingInterval: 32 * 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
  });
  // The in-process session answers synchronously, so this works in an exit handler.
  process.on('exit', () => {
    if (!started) return;
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, 'cpu.cpuprofile'), JSON.stringify(res.profile));
    });
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (!err) writeFileSync(join(dir, 'alloc.heapprofile'), JSON.stringify(res.profile));
    });
  });
}
