/**
 * @module records/digest-source — a sha256 of a records source as it is on disk (a file, or every file of a
 * directory tree with its relative path), so a resumed run can tell that its input changed. Hashing the bytes is
 * several times cheaper than re-serializing millions of parsed records.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/**
 * The digest of one file fed chunk by chunk as it is read for another purpose (parsing): equal to
 * `digestSource(file)`, without reading the file a second time, and of exactly the bytes that were parsed.
 */
export function fileDigester(): { update(chunk: Buffer): void; digest(): string } {
  const hash = createHash('sha256').update('\0'); // the file's path relative to itself is ''
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.update('\0').digest('hex'),
  };
}

export async function digestSource(path: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await stat(path)).isDirectory() ? await listFiles(path) : [path];
  for (const file of files) {
    hash.update(`${relative(path, file)}\0`);
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    hash.update('\0');
  }
  return hash.digest('hex');
}
