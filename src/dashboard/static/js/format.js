// How times and durations read on screen.

const pad = (n) => String(n).padStart(2, '0');

/** `14:03:27` today, `Mar 4 14:03` on other days. */
export function clock(ms) {
  const d = new Date(ms);
  const today = new Date();
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time.slice(0, 5)}`;
}

/** `2026-12-01 14:03:27`, local time: a date on every line of a log. */
export function dateTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `2 h 5 m`, `42 s`, `350 ms`: the two largest units. */
export function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const parts = [];
  let rest = ms;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length > 0) parts.push(`${n} ${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith('0 ')).join(' ') || '0 s';
}

/** `3 m ago`, or `just now`. */
export function ago(ms, now = Date.now()) {
  const past = now - ms;
  return past < 5000 ? 'just now' : `${duration(past)} ago`;
}

/** `97.3 %`, or `100 %` without decimals. */
export function percent(share) {
  const p = share * 100;
  return `${p === 100 || p === 0 ? p : p.toFixed(p >= 99 ? 2 : 1)} %`;
}
