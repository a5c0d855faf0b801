// Slack request signing (https://api.slack.com/authentication/verifying-requests-from-slack):
//   X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:" + X-Slack-Request-Timestamp + ":" + raw body)>
// Verified over the raw body exactly as received; timestamps more than `toleranceMs` old are refused, and
// (stricter than Slack's own libraries) as far in the future; the comparison is constant-time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function slackSignature(secret: string, timestamp: string, rawBody: Buffer | string): string {
  const mac = createHmac('sha256', secret);
  mac.update(`v0:${timestamp}:`);
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: 'missing' | 'stale' | 'future' | 'mismatch' };

export function verifySlackSignature(o: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
  nowMs: number;
  toleranceMs: number;
}): SignatureCheck {
  if (!o.timestamp || !o.signature || !/^\d{1,12}$/.test(o.timestamp))
    return { ok: false, reason: 'missing' };
  const skew = o.nowMs / 1000 - Number(o.timestamp);
  if (skew > o.toleranceMs / 1000) return { ok: false, reason: 'stale' };
  if (-skew > o.toleranceMs / 1000) return { ok: false, reason: 'future' };
  const expected = Buffer.from(slackSignature(o.secret, o.timestamp, o.rawBody));
  const got = Buffer.from(o.signature);
  // timingSafeEqual needs equal lengths; a length mismatch is itself no secret.
  if (got.length !== expected.length || !timingSafeEqual(got, expected))
    return { ok: false, reason: 'mismatch' };
  return { ok: true };
}
