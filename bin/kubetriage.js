#!/usr/bin/env node
// Runs the TypeScript sources directly: Node >= 22.18 strips types natively, so no build step.
import { main } from '../src/cli/main.ts';

main(process.argv).catch((err) => {
  process.stderr.write(`kubetriage: ${err?.message ?? err}\n`);
  process.exit(1);
});
