/**
 * Progress on stderr: a bar redrawn in place (at most every 200 ms) on a terminal; otherwise one plain line per
 * update (callers update once per committed batch), which a log or a supervising script can follow.
 */
export class Progress {
  private last = 0;
  private readonly started = Date.now();
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
  ) {}

  update(done: number) {
    if (!this.tty) {
      process.stderr.write(`${this.label}: ${done} rows\n`);
      return;
    }
    if (Date.now() - this.last < 200) return;
    this.last = Date.now();
    const seconds = (Date.now() - this.started) / 1000;
    const rate = Math.round(done / Math.max(seconds, 0.001));
    let bar = '';
    if (this.total) {
      const filled = Math.round((Math.min(done, this.total) / this.total) * 30);
      bar = `[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${Math.floor((done / this.total) * 100)}% `;
    }
    process.stderr.write(`\r${this.label} ${bar}${done} rows, ${rate} rows/s   `);
  }

  done() {
    if (this.tty) process.stderr.write('\n');
  }
}
