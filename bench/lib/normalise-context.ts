// The NormaliseContext the decode and pipeline benches hand decodeAndNormalise when they time decode +
// normalise alone: signals are counted or dropped, nothing is grouped. Structural: bench/ab.ts and
// bench/ab-run-path.ts pass the resolver class of another checkout.

export interface BenchNormaliseContext<R> {
  defaultCluster: string;
  resolver: R;
  recordTimeMs: number;
  watchedMetrics: ReadonlySet<string>;
  emit: () => void;
  observeServerSpan: () => void;
  dropEvent?: (cluster: string, eventType: string, reason: string) => boolean;
}

export function benchNormaliseContext<R>(
  resolver: R,
  o: Partial<Pick<BenchNormaliseContext<R>, 'watchedMetrics' | 'emit' | 'dropEvent'>> = {},
): BenchNormaliseContext<R> {
  return {
    defaultCluster: 'bench',
    resolver,
    recordTimeMs: 0,
    watchedMetrics: o.watchedMetrics ?? new Set<string>(),
    emit: o.emit ?? (() => {}),
    observeServerSpan: () => {},
    ...(o.dropEvent ? { dropEvent: o.dropEvent } : {}),
  };
}
