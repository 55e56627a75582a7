/** How a command prints: a table for people, JSON for scripts. */
export interface Output {
  json: boolean;
}

/** Prints rows as an aligned table (or the raw value as JSON with --json). */
export function printTable(out: Output, rows: Array<Record<string, unknown>>, columns: string[], raw: unknown = rows): void {
  if (out.json) {
    process.stdout.write(`${JSON.stringify(raw, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((r) => columns.map((c) => cellText(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (values: string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n${cells.map(line).join('\n')}\n`);
}

/** Prints one object: key-value lines, or JSON. */
export function printObject(out: Output, value: Record<string, unknown>): void {
  if (out.json) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(value).map((k) => k.length));
  for (const [k, v] of Object.entries(value)) process.stdout.write(`${k.padEnd(width)}  ${cellText(v)}\n`);
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A one-line progress indicator on stderr (only on a terminal, so scripts stay clean). */
export function progress(message: string): { update(text: string): void; done(text?: string): void } {
  const tty = process.stderr.isTTY;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  let text = message;
  const timer = tty ? setInterval(() => process.stderr.write(`\r${frames[i++ % frames.length]} ${text}   `), 100) : null;
  if (!tty) process.stderr.write(`${message}\n`);
  return {
    update: (t) => {
      if (!tty && t !== text) process.stderr.write(`${t}\n`);
      text = t;
    },
    done: (t) => {
      if (timer) clearInterval(timer);
      if (tty) process.stderr.write(`\r${t ?? text}${' '.repeat(10)}\n`);
      else if (t) process.stderr.write(`${t}\n`);
    },
  };
}
