import fs from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../errors.js';

export class DatabaseInUseError extends OperatorError {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite is single-process and does not lock its data directory: two processes on one directory corrupt it.
 * A pid file taken with O_EXCL refuses the second one; a file left by a dead process is taken over.
 */
export function acquireDirectoryLock(dir: string): () => void {
  const file = path.join(dir, 'hub.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(file, 'utf8'));
      if (owner === process.pid || (Number.isInteger(owner) && owner > 0 && alive(owner))) {
        throw new DatabaseInUseError(
          `the embedded database in ${dir} is in use by process ${owner}; stop it (or use DATABASE_URL) first`,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new DatabaseInUseError(`could not lock ${dir}`);
}
