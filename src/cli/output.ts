/** Writes one NDJSON line; large outputs rely on the stream's own buffering. */
export function writeLine(out: NodeJS.WritableStream, line: string): void {
  out.write(`${line}\n`);
}
