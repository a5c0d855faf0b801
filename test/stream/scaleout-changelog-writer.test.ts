// ChangelogWriter without a broker: a partition log that appends what is acknowledged, and sends whose
// every attempt the test fails or acknowledges, with AckedProducer's contract (a failed attempt asks
// `resend` before and after its back-off; false rejects with SupersededSendError). The invariant: the
// last entry of a key on the log is the newest one produced, whatever failed and in what order.
// test/kafka/scaleout-changelog-order.test.ts shows it on a real broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type OutRecord,
  PermanentProduceError,
  SupersededSendError,
} from '../../src/stream/kafka/producer.ts';
import { ChangelogWriter } from '../../src/stream/scaleout/changelog-writer.ts';

interface Attempt {
  rec: OutRecord;
  onRetry: (err: Error, attempt: number) => void;
  resend: () => boolean;
  attempt: number;
  resolve: (offset: number) => void;
  reject: (err: unknown) => void;
  /** Failed, waiting for its back-off (the test calls `retry`). */
  backingOff: boolean;
}

/** One partition: `ack` appends an attempt's record, `fail` fails it, `retry` ends its back-off. */
class FakePartition {
  readonly log: { key: string; value: string }[] = [];
  readonly attempts: Attempt[] = [];

  send = (rec: OutRecord, onRetry: Attempt['onRetry'], resend: Attempt['resend']): Promise<number> =>
    new Promise((resolve, reject) =>
      this.attempts.push({ rec, onRetry, resend, attempt: 1, resolve, reject, backingOff: false }),
    );

  #find(value: string): Attempt {
    const a = this.attempts.find((x) => x.rec.value.toString() === value);
    assert.ok(a, `an attempt of ${value} is with the producer`);
    return a;
  }

  ack(value: string): void {
    const a = this.#find(value);
    assert.equal(a.backingOff, false, `${value} is in flight`);
    this.attempts.splice(this.attempts.indexOf(a), 1);
    this.log.push({ key: String(a.rec.key), value });
    a.resolve(this.log.length - 1);
  }

  /** librdkafka gave the attempt up (message.timeout.ms): AckedProducer's catch. */
  fail(value: string): void {
    const a = this.#find(value);
    const err = new Error('Local: Message timed out');
    if (!a.resend()) {
      this.attempts.splice(this.attempts.indexOf(a), 1);
      a.reject(new SupersededSendError(err));
      return;
    }
    a.onRetry(err, a.attempt);
    a.backingOff = true;
  }

  /** The back-off is over: re-sent (a new attempt) unless `resend` says no. */
  retry(value: string): void {
    const a = this.#find(value);
    assert.equal(a.backingOff, true, `${value} is backing off`);
    a.backingOff = false;
    if (!a.resend()) {
      this.attempts.splice(this.attempts.indexOf(a), 1);
      a.reject(new SupersededSendError(new Error('Local: Message timed out')));
      return;
    }
    a.attempt++;
  }

  refuse(value: string): void {
    const a = this.#find(value);
    this.attempts.splice(this.attempts.indexOf(a), 1);
    a.reject(
      new PermanentProduceError(Object.assign(new Error('Broker: Message size too large'), { code: 10 })),
    );
  }

  /** What compaction keeps: the last value per key. */
  compacted(): Map<string, string> {
    return new Map(this.log.map((e) => [e.key, e.value]));
  }
}

function setup() {
  const partition = new FakePartition();
  const superseded: string[] = [];
  const writer = new ChangelogWriter({ send: partition.send, onSuperseded: (k) => superseded.push(k) });
  const settled = new Map<string, string>();
  const write = (key: string, value: string) => {
    const p = writer.write({ topic: 'changelog', key, value: Buffer.from(value), partition: 0 });
    p.then(
      () => settled.set(value, 'delivered'),
      (err: Error) => settled.set(value, err.name),
    );
    return p;
  };
  return { partition, writer, superseded, settled, write };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ChangelogWriter: an incident keeps its newest entry last', () => {
  it('a failed entry is not re-sent once a newer one of its incident was produced', async () => {
    const { partition, writer, superseded, settled, write } = setup();
    void write('inc/a', 'a1');
    void write('inc/a', 'a2');
    partition.fail('a1');
    partition.ack('a2');
    await tick();
    assert.deepEqual([...partition.compacted()], [['inc/a', 'a2']]);
    assert.equal(settled.get('a1'), 'delivered', 'a1 counts as delivered: a2 holds all it held');
    assert.deepEqual(superseded, ['inc/a']);
    assert.deepEqual(writer.stats, { failed: 0, superseded: 1 });
    assert.equal(partition.attempts.length, 0, 'nothing left to send');
    assert.equal(writer.pendingKeys, 0);
  });

  it('a newer entry produced during the back-off supersedes the failed one before it is re-sent', async () => {
    const { partition, writer, settled, write } = setup();
    void write('inc/a', 'a1');
    partition.fail('a1'); // the newest yet: it will be re-sent after its back-off
    void write('inc/a', 'a2');
    partition.ack('a2');
    partition.retry('a1');
    await tick();
    assert.deepEqual([...partition.compacted()], [['inc/a', 'a2']]);
    assert.equal(settled.get('a1'), 'delivered');
    assert.deepEqual(writer.stats, { failed: 1, superseded: 1 });
  });

  it('the superseded entry waits for the newer one, which is re-sent when it fails too', async () => {
    const { partition, writer, settled, write } = setup();
    void write('inc/a', 'a1');
    void write('inc/a', 'a2');
    partition.fail('a1');
    partition.fail('a2');
    await tick();
    assert.equal(settled.has('a1'), false, 'a1 is not delivered while a2 is not');
    partition.retry('a2');
    partition.ack('a2');
    await tick();
    assert.deepEqual([...partition.compacted()], [['inc/a', 'a2']]);
    assert.equal(settled.get('a1'), 'delivered');
    assert.equal(settled.get('a2'), 'delivered');
    assert.deepEqual(writer.stats, { failed: 1, superseded: 1 });
  });

  it('a chain of replaced entries settles with the newest', async () => {
    const { partition, settled, write } = setup();
    for (const v of ['a1', 'a2', 'a3']) void write('inc/a', v);
    partition.fail('a1');
    partition.fail('a2');
    await tick();
    assert.equal(settled.size, 0);
    partition.ack('a3');
    await tick();
    assert.deepEqual([...partition.compacted()], [['inc/a', 'a3']]);
    assert.deepEqual([...settled.values()], ['delivered', 'delivered', 'delivered']);
  });

  it('the newest entry is re-sent until acknowledged', async () => {
    const { partition, writer, settled, write } = setup();
    void write('inc/a', 'a1');
    for (let i = 0; i < 3; i++) {
      partition.fail('a1');
      partition.retry('a1');
    }
    partition.ack('a1');
    await tick();
    assert.equal(settled.get('a1'), 'delivered');
    assert.deepEqual(writer.stats, { failed: 3, superseded: 0 });
  });

  it("other incidents' entries are not affected", async () => {
    const { partition, settled, write } = setup();
    void write('inc/a', 'a1');
    void write('inc/b', 'b1');
    partition.fail('a1');
    partition.ack('b1');
    partition.retry('a1');
    partition.ack('a1');
    await tick();
    assert.deepEqual([...partition.compacted()].sort(), [
      ['inc/a', 'a1'],
      ['inc/b', 'b1'],
    ]);
    assert.equal(settled.get('a1'), 'delivered');
  });

  it('an entry replaced by one the broker refuses takes the refusal, never "delivered"', async () => {
    const { partition, settled, write } = setup();
    void write('inc/a', 'a1');
    void write('inc/a', 'a2');
    partition.refuse('a2');
    await tick();
    partition.fail('a1');
    await tick();
    assert.equal(settled.get('a2'), 'PermanentProduceError');
    assert.equal(settled.get('a1'), 'PermanentProduceError');
    assert.deepEqual(partition.log, []);
  });
});

describe('ChangelogWriter: a revoke whose drain timed out', () => {
  it('an entry not delivered is not re-sent, and its records stay uncommitted', async () => {
    const { partition, writer, settled, write } = setup();
    void write('inc/a', 'a1');
    partition.fail('a1');
    assert.equal(writer.abandonAll(), 1);
    partition.retry('a1');
    await tick();
    assert.equal(settled.get('a1'), 'ChangelogAbandonedError');
    assert.deepEqual(partition.log, []);
    assert.equal(partition.attempts.length, 0, 'nothing left to send');
  });

  it('entries replaced before or failing after the revoke are never "delivered"', async () => {
    const { partition, writer, settled, write } = setup();
    for (const v of ['a1', 'a2', 'a3']) void write('inc/a', v);
    partition.fail('a1'); // superseded before the revoke: takes a3's outcome
    await tick();
    assert.equal(writer.abandonAll(), 2);
    partition.fail('a2');
    partition.fail('a3');
    await tick();
    assert.deepEqual(Object.fromEntries(settled), {
      a1: 'ChangelogAbandonedError',
      a2: 'ChangelogAbandonedError',
      a3: 'ChangelogAbandonedError',
    });
    assert.deepEqual(partition.log, []);
  });

  it('an attempt under way that is acknowledged still counts; later writes go on as before', async () => {
    const { partition, writer, settled, write } = setup();
    void write('inc/a', 'a1');
    writer.abandonAll();
    partition.ack('a1');
    void write('inc/a', 'a2');
    partition.fail('a2');
    partition.retry('a2');
    partition.ack('a2');
    await tick();
    assert.equal(settled.get('a1'), 'delivered');
    assert.equal(settled.get('a2'), 'delivered');
    assert.equal(writer.pendingKeys, 0);
  });
});
