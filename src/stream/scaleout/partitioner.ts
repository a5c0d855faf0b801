// The signals partition of an incident scope, computed here as the producer's partitioner would pick it
// for the scope's key: ingest puts several scopes' signals that share a partition in one record and
// produces it to that partition explicitly, so the choice must be exactly librdkafka's, or a scope would
// move to another owner when replicas that key their records (format 2) and replicas that do not
// (format 3) share the topic during an upgrade. librdkafka's default (`consistent_random`) is CRC-32 of
// the key modulo the partition count; `murmur2`/`murmur2_random` is the Java client's default.
import { crc32 } from 'node:zlib';
import { KubetriageError } from '../../core/errors.ts';
import { murmur2 } from '../../exec/partitioner.ts';

export type Partitioner = (key: string, partitions: number) => number;

/** FNV-1a, 32 bits, as librdkafka's rd_fnv1a: the absolute value of the signed hash (Sarama's). */
function fnv1a(data: Uint8Array): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h < 0 ? -h : h;
}

/** The partitioner librdkafka uses with `partitioner` set to `name` (its default when unset). */
export function keyPartitioner(name = 'consistent_random'): Partitioner {
  switch (name) {
    case 'consistent':
    case 'consistent_random':
      return (key, n) => crc32(key) % n;
    case 'murmur2':
    case 'murmur2_random':
      return (key, n) => (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % n;
    case 'fnv1a':
    case 'fnv1a_random':
      return (key, n) => fnv1a(Buffer.from(key, 'utf8')) % n;
    default:
      throw new KubetriageError(
        'CONFIG_INVALID',
        `kafka.librdkafka.partitioner ${name} does not put a key on one partition: scale-out needs a keyed partitioner (consistent_random, murmur2_random, fnv1a_random)`,
      );
  }
}
