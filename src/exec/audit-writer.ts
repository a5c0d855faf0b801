// The file under the audit ledger, behind a four-call interface so fault tests can make it fail
// exactly (a short write then ENOSPC, EROFS on open) without root or a special filesystem.
import { type FileHandle, open } from 'node:fs/promises';

export interface LedgerWriter {
  /** Appends at the end of the file; may have written part of `data` when it throws. */
  write(data: Buffer): Promise<void>;
  /** fsync: resolves once what was written is durable. */
  sync(): Promise<void>;
  /** Cuts the file back to `length` bytes (drops a failed batch or a torn tail). */
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** The real file, opened (append, 0600) at the first write: a service that never audits leaves no file. */
export function auditWriter(file: string): LedgerWriter {
  let fh: FileHandle | null = null;
  const handle = async () => {
    fh ??= await open(file, 'a', 0o600);
    return fh;
  };
  return {
    async write(data) {
      const h = await handle();
      let off = 0;
      // A short write is not an error by itself: write the rest until done or the OS says why not.
      while (off < data.length) {
        const { bytesWritten } = await h.write(data, off, data.length - off);
        if (bytesWritten === 0) throw new Error('short write: 0 bytes written');
        off += bytesWritten;
      }
    },
    async sync() {
      await (await handle()).datasync();
    },
    async truncate(length) {
      await (await handle()).truncate(length);
    },
    async close() {
      const h = fh;
      fh = null;
      await h?.close();
    },
  };
}
