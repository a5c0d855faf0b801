// Reads Kafka record-batch HEADERS straight off the wire (Fetch v4 over a raw socket), to see what a
// producer really wrote: the compression codec in each batch's attributes, record counts, and the
// partition's high watermark. librdkafka decompresses transparently, so a consumer cannot tell
// whether the Collector's `producer.compression` took effect; the batch attributes can.
// Single-broker test clusters only (every partition's leader is the bootstrap broker).
import { Socket } from 'node:net';

export const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Codec = (typeof CODECS)[number];

export interface BatchHeader {
  baseOffset: number;
  records: number;
  codec: Codec;
  magic: number;
}

export interface PartitionBatches {
  partition: number;
  highWatermark: number;
  batches: BatchHeader[];
}

function request(host: string, port: number, payload: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, body?: Buffer): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(body!);
    };
    const timer = setTimeout(() => done(new Error(`Kafka request to ${host}:${port} timed out`)), timeoutMs);
    sock.once('error', (e) => done(e));
    sock.once('close', () => done(new Error('connection closed before the response')));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      const len = buf.readInt32BE(0);
      if (buf.length < 4 + len) return;
      done(null, buf.subarray(4, 4 + len));
    });
    sock.connect(port, host, () => sock.write(payload));
  });
}

/** Fetch v4 (non-flexible; still supported by Kafka 4.x) for one topic's partitions from given offsets. */
function fetchRequest(topic: string, offsets: Map<number, number>, correlationId: number): Buffer {
  const clientId = Buffer.from('kubetriage-e2e');
  const topicB = Buffer.from(topic);
  const parts = [...offsets];
  const size =
    2 + 2 + 4 + 2 + clientId.length + 4 + 4 + 4 + 4 + 1 + 4 + 2 + topicB.length + 4 + parts.length * 16;
  const b = Buffer.alloc(4 + size);
  let o = b.writeInt32BE(size, 0);
  o = b.writeInt16BE(1, o); // api_key Fetch
  o = b.writeInt16BE(4, o); // api_version
  o = b.writeInt32BE(correlationId, o);
  o = b.writeInt16BE(clientId.length, o);
  o += clientId.copy(b, o);
  o = b.writeInt32BE(-1, o); // replica_id
  o = b.writeInt32BE(100, o); // max_wait_ms
  o = b.writeInt32BE(0, o); // min_bytes
  o = b.writeInt32BE(16 * 1024 * 1024, o); // max_bytes
  o = b.writeInt8(0, o); // isolation_level READ_UNCOMMITTED
  o = b.writeInt32BE(1, o); // topics
  o = b.writeInt16BE(topicB.length, o);
  o += topicB.copy(b, o);
  o = b.writeInt32BE(parts.length, o);
  for (const [partition, offset] of parts) {
    o = b.writeInt32BE(partition, o);
    o = b.writeBigInt64BE(BigInt(offset), o);
    o = b.writeInt32BE(8 * 1024 * 1024, o); // partition_max_bytes
  }
  return b;
}

interface FetchedPartition {
  partition: number;
  error: number;
  highWatermark: number;
  batches: BatchHeader[];
  /** Offset after the last complete batch. */
  next: number;
}

function parseFetch(body: Buffer, correlationId: number, from: Map<number, number>): FetchedPartition[] {
  let o = 0;
  if (body.readInt32BE(o) !== correlationId) throw new Error('Fetch: correlation id mismatch');
  o += 4 + 4; // correlation_id, throttle_time_ms
  const topics = body.readInt32BE(o);
  o += 4;
  const out: FetchedPartition[] = [];
  for (let t = 0; t < topics; t++) {
    const tl = body.readInt16BE(o);
    o += 2 + tl;
    const parts = body.readInt32BE(o);
    o += 4;
    for (let p = 0; p < parts; p++) {
      const partition = body.readInt32BE(o);
      const error = body.readInt16BE(o + 4);
      const highWatermark = Number(body.readBigInt64BE(o + 6));
      o += 4 + 2 + 8 + 8; // + last_stable_offset
      const aborted = body.readInt32BE(o);
      o += 4 + Math.max(0, aborted) * 16;
      const recLen = body.readInt32BE(o);
      o += 4;
      const records = recLen > 0 ? body.subarray(o, o + recLen) : Buffer.alloc(0);
      o += Math.max(0, recLen);
      const batches: BatchHeader[] = [];
      let next = from.get(partition) ?? 0;
      let r = 0;
      // Record batch v2: baseOffset(8) batchLength(4) leaderEpoch(4) magic(1) crc(4) attributes(2)
      // lastOffsetDelta(4) baseTimestamp(8) maxTimestamp(8) producerId(8) producerEpoch(2)
      // baseSequence(4) recordCount(4) records…   A truncated last batch is left for the next fetch.
      while (r + 12 <= records.length) {
        const baseOffset = Number(records.readBigInt64BE(r));
        const batchLength = records.readInt32BE(r + 8);
        if (r + 12 + batchLength > records.length) break;
        const magic = records.readInt8(r + 16);
        const attributes = records.readInt16BE(r + 21);
        const lastOffsetDelta = records.readInt32BE(r + 23);
        const count = records.readInt32BE(r + 57);
        const codec = CODECS[attributes & 0x07];
        if (!codec) throw new Error(`unknown compression codec ${attributes & 0x07}`);
        // Control batches (transaction markers) carry no data records.
        if (!(attributes & 0x20)) batches.push({ baseOffset, records: count, codec, magic });
        next = baseOffset + lastOffsetDelta + 1;
        r += 12 + batchLength;
      }
      out.push({ partition, error, highWatermark, batches, next });
    }
  }
  return out;
}

/** Every batch header of a topic's partitions, from offset 0 up to each high watermark. */
export async function readBatchHeaders(
  brokers: string,
  topic: string,
  partitions: number,
  timeoutMs = 10_000,
): Promise<PartitionBatches[]> {
  const [host, portS] = (brokers.split(',')[0] ?? '').split(':');
  const port = Number(portS);
  if (!host || !port) throw new Error(`bad broker address ${brokers}`);
  const result = new Map<number, PartitionBatches>();
  const offsets = new Map<number, number>();
  for (let p = 0; p < partitions; p++) {
    offsets.set(p, 0);
    result.set(p, { partition: p, highWatermark: 0, batches: [] });
  }
  const deadline = Date.now() + timeoutMs;
  while (offsets.size > 0) {
    if (Date.now() > deadline) throw new Error(`reading batch headers of ${topic} timed out`);
    const cid = Math.floor(Math.random() * 0x7fffffff);
    const body = await request(host, port, fetchRequest(topic, offsets, cid), 5_000);
    for (const fp of parseFetch(body, cid, offsets)) {
      if (fp.error !== 0) throw new Error(`Fetch ${topic}/${fp.partition}: Kafka error code ${fp.error}`);
      const acc = result.get(fp.partition)!;
      acc.highWatermark = fp.highWatermark;
      acc.batches.push(...fp.batches);
      if (fp.next >= fp.highWatermark) offsets.delete(fp.partition);
      else offsets.set(fp.partition, fp.next);
    }
  }
  return [...result.values()];
}

/** Sum of the partitions' high watermarks: how many records (offsets) the topic holds. */
export async function topicEndOffsets(brokers: string, topic: string, partitions: number): Promise<number> {
  const parts = await readBatchHeaders(brokers, topic, partitions);
  return parts.reduce((a, p) => a + p.highWatermark, 0);
}
