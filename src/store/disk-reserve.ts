/**
 * @module store/disk-reserve — a small file kept beside a database while a run writes to it. When the disk fills up
 * (SQLITE_FULL), deleting it gives SQLite room to record how the run ended (status "failed", its lease released):
 * measured on a full tmpfs, without it even that one-row update failed, and the run was left "running".
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';

/** Enough for a few WAL frames (a page of `runs`, one of `run_leases`, their index pages): 16 frames of 4 KiB. */
export const DISK_RESERVE_BYTES = 64 * 1024;

export interface DiskReserve {
  /** Deletes the reserve now (on a full disk, before the last writes). */
  free(): void;
}

/** Creates `<database>-reserve`; none for in-memory databases or when the disk is already too full to hold it. */
export function reserveDiskSpace(databasePath: string, bytes = DISK_RESERVE_BYTES): DiskReserve {
  if (databasePath === '' || databasePath === ':memory:') return { free() {} };
  const path = `${databasePath}-reserve`;
  let created = false;
  try {
    const descriptor = openSync(path, 'w');
    try {
      created = true;
      writeSync(descriptor, Buffer.alloc(bytes)); // written, not sparse: the blocks are really taken
    } finally {
      closeSync(descriptor);
    }
  } catch {
    // no room even for the reserve: the run will fail at its first write, as it would have without one
  }
  return {
    free() {
      if (!created) return;
      created = false;
      rmSync(path, { force: true });
    },
  };
}
