// Scale-out ingest: any replica. Consumes the input topics in the main consumer group, decodes and
// normalises, and produces each record's signals, per incident scope, to the signals topic keyed by
// that scope. An input offset is committed only once all its signals records are acknowledged.
import type { Config } from '../../core/config.ts';
import type { Logger } from '../../core/logger.ts';
import type { InRecord } from '../kafka/consumer.ts';
import { type AckedProducer, PermanentProduceError } from '../kafka/producer.ts';
import { Hold } from '../offsets.ts';
import type { RecordFailure } from '../pipeline.ts';
import { DLQ_HEADERS } from '../service.ts';
import type { WorkloadResolver } from '../workload.ts';
import { encodeSignalsRecord } from './codec.ts';
import { GroupSide } from './group-side.ts';
import { SignalSplitter } from './ingest.ts';
import type { ScaleOutMetrics } from './metrics.ts';

export class IngestSide extends GroupSide {
  readonly splitter: SignalSplitter;
  readonly #producer: AckedProducer;
  readonly #metrics: ScaleOutMetrics;

  constructor(opts: {
    config: Config;
    log: Logger;
    resolver: WorkloadResolver;
    producer: AckedProducer;
    metrics: ScaleOutMetrics;
    env?: NodeJS.ProcessEnv;
  }) {
    const t = opts.config.kafka.topics;
    super({
      config: opts.config,
      log: opts.log.child({ side: 'ingest' }),
      groupId: opts.config.kafka.groupId,
      topics: [...t.logs, ...t.metrics, ...t.traces],
      env: opts.env,
    });
    this.splitter = new SignalSplitter(opts.config, opts.resolver);
    this.#producer = opts.producer;
    this.#metrics = opts.metrics;
  }

  protected handle(rec: InRecord): void {
    const p = this.ledger.partition(rec.topic, rec.partition);
    const timestamp = rec.timestamp ?? Date.now();
    const { failure, groups } = this.splitter.split(rec.topic, rec.value, timestamp);
    if (failure) this.#deadLetter(rec, failure);
    else if (groups.length > 0) {
      const hold = new Hold();
      hold.add(p, rec.offset, timestamp);
      this.ledger.track(hold);
      let left = groups.length;
      const topic = this.cfg.scaleOut.topics.signals;
      groups.forEach((g, index) => {
        const value = encodeSignalsRecord({
          src: { topic: rec.topic, partition: rec.partition, offset: rec.offset, index, timestamp },
          ops: g.ops,
        });
        this.#metrics.signalBytes.inc(value.length);
        this.#producer
          .send({ topic, key: g.key, value })
          .then(() => {
            this.#metrics.signalRecords.inc();
            if (--left === 0) this.ledger.release(hold);
          })
          .catch((err: Error) => {
            if (!(err instanceof PermanentProduceError)) {
              this.log.error({ err: err.message }, 'signals produce abandoned at shutdown');
              return;
            }
            // One scope's signals of a record larger than the topic takes: the record is dead-lettered.
            this.#deadLetter(rec, { code: 'SIGNALS_REFUSED', message: err.message, stage: 'decode' });
            if (--left === 0) this.ledger.release(hold);
          });
      });
    }
    this.ledger.processed(p, rec.offset);
  }

  #deadLetter(rec: InRecord, f: RecordFailure): void {
    this.#metrics.deadLetters.inc({ code: f.code });
    if (f.internal) {
      this.#metrics.internalErrors.inc({ stage: f.stage });
      this.log.error(
        {
          topic: rec.topic,
          partition: rec.partition,
          offset: rec.offset,
          stage: f.stage,
          err: f.message,
          stack: f.internal.stack,
        },
        'internal error in the scale-out ingest (a bug); dead-lettering its record',
      );
    }
    this.log.warn(
      { topic: rec.topic, partition: rec.partition, offset: rec.offset, code: f.code, err: f.message },
      'dead-lettering record',
    );
    const hold = new Hold();
    hold.add(this.ledger.partition(rec.topic, rec.partition), rec.offset, rec.timestamp);
    this.ledger.track(hold);
    this.#producer
      .send({
        topic: this.cfg.kafka.topics.dlq,
        key: rec.key ?? null,
        value: rec.value ?? Buffer.alloc(0),
        headers: [
          ...(rec.headers ?? []),
          { [DLQ_HEADERS.topic]: rec.topic },
          { [DLQ_HEADERS.partition]: String(rec.partition) },
          { [DLQ_HEADERS.offset]: String(rec.offset) },
          { [DLQ_HEADERS.timestamp]: String(rec.timestamp ?? '') },
          { [DLQ_HEADERS.code]: f.code },
          { [DLQ_HEADERS.error]: f.message.slice(0, 1000) },
          { [DLQ_HEADERS.stage]: f.stage },
          { [DLQ_HEADERS.form]: 'full' },
        ],
      })
      .catch((err: Error) => {
        // Too large for the DLQ too: the record stays in its source topic at the offset logged here.
        if (err instanceof PermanentProduceError)
          this.log.error(
            { topic: rec.topic, partition: rec.partition, offset: rec.offset, err: err.message },
            'broker refused the dead letter',
          );
        else throw err;
      })
      .then(
        () => this.ledger.release(hold),
        (err: Error) => this.log.error({ err: err.message }, 'dead-letter produce abandoned at shutdown'),
      );
  }

  protected flush(): void {}
  tick(): void {}
}
