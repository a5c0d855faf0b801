// The protobufjs side of bench/replay.ts: reads a capture file line by line, as replay does, and
// decodes every value with protobufjs reflection, doing nothing else.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { otlpType } from '../../src/sim/otlp-proto.ts';

const type = otlpType('ExportLogsServiceRequest');
let records = 0;
const rl = createInterface({
  input: createReadStream(process.argv[2]!),
  crlfDelay: Number.POSITIVE_INFINITY,
});
for await (const line of rl) {
  if (line === '') continue;
  const rec = JSON.parse(line) as { value: string };
  const msg = type.decode(Buffer.from(rec.value, 'base64')) as unknown as {
    resourceLogs: { scopeLogs: { logRecords: unknown[] }[] }[];
  };
  for (const rl of msg.resourceLogs) for (const sl of rl.scopeLogs) records += sl.logRecords.length;
}
process.stderr.write(`decoded ${records} log records\n`);
