/** A one-line progress bar on stderr; silent when stderr is not a TTY or output is JSON. */
export interface Progress {
  update(done: number, total: number, detail?: string): void;
  done(message?: string): void;
}

const WIDTH = 28;

export function progressBar(label: string, enabled = Boolean(process.stderr.isTTY)): Progress {
  const started = performance.now();
  let last = 0;
  const render = (done: number, total: number, detail = '') => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(frac * WIDTH);
    const elapsed = (performance.now() - started) / 1000;
    const eta = frac > 0 && frac < 1 ? ` ETA ${Math.ceil((elapsed * (1 - frac)) / frac)}s` : '';
    const line = `${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${done}/${total}${eta}${detail ? ` ${detail}` : ''}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 100) - 1)}\x1b[K`);
  };
  return {
    update(done, total, detail) {
      if (!enabled) return;
      const now = performance.now();
      if (now - last < 80 && done < total) return;
      last = now;
      render(done, total, detail);
    },
    done(message) {
      if (!enabled) return;
      process.stderr.write(`\r\x1b[K${message ? `${label} ${message}\n` : ''}`);
    },
  };
}
