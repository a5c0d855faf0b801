// A duration setting for the config schemas: "30s", "5m", "1h" or a number of milliseconds, parsed once
// at start-up into milliseconds, with a message that names the bad value. One definition for every
// config section.
import { z } from 'zod';
import { parseDuration } from './duration.ts';

export const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `"${v}" is not a duration like 30s, 5m, 1h or a number of ms`,
        });
        return z.NEVER;
      }
      return ms;
    });
