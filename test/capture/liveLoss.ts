// Measuring loss of `vvmp live -w` against a tcpdump running beside it on lo (tests and bench).
// Traffic: test/capture/udpSender.mjs (payload 'VVLT' + u32 sequence number), on a port of its own,
// so what other programs send on lo at the same time is filtered out.

import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readCaptureFile } from '../../src/capture/file.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SENDER = fileURLToPath(new URL('./udpSender.mjs', import.meta.url));

/** A UDP port free on 127.0.0.1 just now. */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Reference {
  stop(): Promise<void>;
}

/** `tcpdump -w FILE udp port P` on lo; resolves once it listens. */
export async function startReference(port: number, file: string): Promise<Reference> {
  const child = spawn('tcpdump', ['--immediate-mode', '-U', '-B', '262144', '-i', 'lo', '-w', file, 'udp', 'port', String(port)],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      if (/listening on/.test(err)) resolve();
    });
    void closed.then(() => reject(new Error(`reference tcpdump ended: ${err}`)));
  });
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await closed;
    },
  };
}

export interface Sending {
  child: ChildProcess;
  done: Promise<{ sent: number; seconds: number }>;
}

/** Starts the paced sender: RATE packets/s for SECONDS to 127.0.0.1:PORT. */
export function startSender(port: number, rate: number, seconds: number): Sending {
  const child = spawn(process.execPath, [SENDER, String(port), String(rate), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const done = new Promise<{ sent: number; seconds: number }>((resolve, reject) => child.on('close', () => {
    try {
      resolve(JSON.parse(out) as { sent: number; seconds: number });
    } catch {
      reject(new Error(`sender printed ${JSON.stringify(out)}`));
    }
  }));
  return { child, done };
}

/** Sequence number → capture time (ms since the epoch) of the sender's packets in a capture. */
export function sequences(file: string): Map<number, number> {
  const seen = new Map<number, number>();
  readCaptureFile(file, (p) => {
    // Ethernet (lo) + IPv4 without options + UDP = 42 bytes before the payload.
    const d = p.data;
    if (d.length >= 50 && d.toString('latin1', 42, 46) === 'VVLT') {
      seen.set(d.readUInt32BE(46), p.tsSec * 1000 + p.tsNsec / 1e6);
    }
  });
  return seen;
}

/** Whether a file exists and holds a capture header yet. */
export function hasCapture(file: string): boolean {
  try {
    return fs.statSync(file).size > 0;
  } catch {
    return false;
  }
}

/** The child pids of a process (Linux /proc). */
export function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number);
  } catch {
    return [];
  }
}

/** Whether a process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** The command name of a process. */
export function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}
