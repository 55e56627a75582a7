/** The p-th percentile of an ascending list (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Requests/s and latency percentiles (ms) of `count` requests, `concurrency` at a time; a non-200 answer fails the bench. */
export async function timeRequests(name: string, count: number, concurrency: number, one: (i: number) => Promise<Response>): Promise<{ name: string; perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        const res = await one(i);
        if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { name, perSecond: count / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}
