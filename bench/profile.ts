/** BENCH_CPU_PROFILE=<prefix>: CPU profiles of a bench's measured stretch, for `node --cpu-prof`-style reading. */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export const PROFILE_PREFIX = process.env.BENCH_CPU_PROFILE;

/**
 * Profiles the main thread from now (when `name` is given and BENCH_CPU_PROFILE is set) until
 * the answered function is called, which writes `<prefix>-<name>.cpuprofile`.
 */
export async function profiling(name: string): Promise<() => Promise<void>> {
  if (!PROFILE_PREFIX) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${PROFILE_PREFIX}-${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  };
}
