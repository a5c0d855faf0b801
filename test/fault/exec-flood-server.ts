// The exec stage's HTTP surface in a process of its own, for the flood test: a client hammering it from
// the same event loop would measure itself. Prints one JSON line {address, file, proposal} when ready;
// exits on SIGTERM after closing (which records the last forged-requests summary).
import { execWorld } from './exec-world.ts';

const w = await execWorld({
  slack: {
    webhookUrl: process.env.SLACK_WEBHOOK_URL!,
    responseUrl: process.env.SLACK_RESPONSE_URL!,
  } as Parameters<typeof execWorld>[0]['slack'],
  forgedSummaryIntervalMs: Number(process.env.FORGED_SUMMARY_MS ?? 2000),
});
const proposal = await w.propose();
process.stdout.write(`${JSON.stringify({ address: w.address, file: w.file, proposal })}\n`);
process.on('SIGTERM', () => {
  void w.close().then(() => process.exit(0));
});
