// Runs jobs on worker threads, one job per worker at a time, results in job
// order: what `stats -j` and `export -j` share. A worker answers each job with
// messages; `settle` turns a message into a result (done), an error (stop
// everything) or nothing (progress, keep waiting).

import { Worker } from 'node:worker_threads';

export type Settled<R> = { result: R } | { error: Error } | null;

export interface PoolOptions<J, M, R> {
  /** The worker module (see each command's WORKER: compiled or the tsx bootstrap). */
  worker: URL;
  /** Handed to every worker once, as `workerData`. */
  workerData: unknown;
  jobs: readonly J[];
  /** Workers started (at most one per job). */
  threads: number;
  /** What a worker's message means; `index` is the job it answered. */
  settle(message: M): ({ index: number } & Exclude<Settled<R>, null>) | null;
  /** A name for failures ("stats worker exited with code 1"). */
  name: string;
}

export function runPool<J, M, R>(o: PoolOptions<J, M, R>): Promise<R[]> {
  return new Promise((resolve, reject) => {
    const results: R[] = new Array(o.jobs.length);
    const workers: Worker[] = [];
    let next = 0;
    let finished = 0;
    let failed = false;
    /** Workers stopped on purpose (no jobs left): their exit is no failure. */
    const idle = new Set<Worker>();
    const stop = (e: Error): void => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(e);
    };
    const give = (w: Worker): void => {
      if (next < o.jobs.length) w.postMessage(o.jobs[next++]);
      else {
        idle.add(w);
        void w.terminate();
      }
    };
    const threads = Math.max(1, Math.min(o.threads, o.jobs.length));
    if (o.jobs.length === 0) return resolve(results);
    for (let k = 0; k < threads; k++) {
      const w = new Worker(o.worker, { workerData: o.workerData });
      workers.push(w);
      w.on('message', (m: M) => {
        if (failed) return;
        const s = o.settle(m);
        if (s === null) return;
        if ('error' in s) return stop(s.error);
        results[s.index] = s.result;
        if (++finished === o.jobs.length) {
          for (const x of workers) void x.terminate();
          resolve(results);
        } else give(w);
      });
      w.on('error', (e) => stop(e));
      w.on('exit', (code) => {
        if (!failed && !idle.has(w) && finished < o.jobs.length && code !== 0) stop(new Error(`${o.name} exited with code ${code}`));
      });
      give(w);
    }
  });
}
