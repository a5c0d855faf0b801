// Preloaded with --import by bench/replay.ts: prints this process's own CPU time (user + system, all
// threads, start-up included) to stderr when it exits.
process.on('exit', () => {
  const u = process.cpuUsage();
  process.stderr.write(`cpu-at-exit ${((u.user + u.system) / 1e6).toFixed(4)}\n`);
});
