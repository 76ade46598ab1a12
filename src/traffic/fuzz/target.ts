// The target: an address, and with --spawn a shell command run in its own
// process group (detached), watched for exit, restarted on demand, killed as
// a whole group, and measured: resident memory summed over its process tree
// (ppid from /proc/*/stat, VmRSS from /proc/PID/status; the shell is often
// not the server, so the tree is walked).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { constants } from 'node:os';
import { encodeFrame } from '../../protocol/encode.js';
import { OP_QUERY } from '../../protocol/fields.js';
import { sleep } from './exec.js';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** "exited with signal SIGABRT" / "exited with code 1". */
  text: string;
  stderr: string[];
  /** What it wrote on stderr after it accepted connections. */
  said?: string[];
}

const SIGNAL_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(constants.signals).map(([name, n]) => [n, name]),
);

export function describeExit(code: number | null, signal: string | null): string {
  if (signal) return `exited with signal ${signal}`;
  if (code !== null && code > 128 && SIGNAL_NAMES[code - 128]) return `exited with signal ${SIGNAL_NAMES[code - 128]} (shell status ${code})`;
  return `exited with code ${code}`;
}

/** Whether a shell command is one simple command (then `exec` makes the shell become it). */
function simpleCommand(cmd: string): boolean {
  return !/[;&|<>()`$\n]/.test(cmd) && !/^\s*(exec|cd|export)\b/.test(cmd);
}

/** Accepts a TCP connection at host:port within `ms`? */
export function canConnect(host: string, port: number, ms = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), ms);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Does a valid Query datagram get any reply within `ms`? */
export function udpAnswers(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      try {
        sock.close();
      } catch {
        // closed
      }
      resolve(ok);
    };
    const t = setTimeout(() => finish(false), ms);
    sock.on('message', () => finish(true));
    sock.on('error', () => finish(false));
    const q = encodeFrame({ opcode: OP_QUERY, sub_opcode: 0x01, src_san: 1, dst_san: 1, client_id: 0x5245414459n, transaction_id: 1 });
    sock.connect(port, host, () => sock.send(q, (err) => err && finish(false)));
  });
}

export class SpawnError extends Error {}

/** Readiness polling interval while a (re)started target comes up, ms. */
const READY_POLL_MS = 10;

function normalizeLine(l: string): string {
  return l.replace(/0x[0-9a-f]+|\d+/gi, '#').trim();
}

export class Target {
  private child: ChildProcess | null = null;
  private exitInfo: ExitInfo | null = null;
  private stderrLines: string[] = [];
  private partialLine = '';
  private tree: number[] = [];
  private readyLines = 0;
  private readyAt = 0;
  /** Lines (numbers blanked) printed as the target came up, in any start. */
  private readonly startupLines = new Set<string>();
  private treeAt = 0;
  private exitWaiters: Array<() => void> = [];
  restarts = 0;
  starts = 0;
  /** How long each restart took, ms (the last 1,000). */
  readonly restartMs: number[] = [];
  private readonly restartParts = { stop: 0, tcp: 0, udp: 0 };
  private tcpReadyAt = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly command: string | null,
    private readonly readyTimeoutMs = 30_000,
  ) {}

  get spawned(): boolean {
    return this.command !== null;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Set once the spawned process exited (until the next start). */
  get exited(): ExitInfo | null {
    return this.exitInfo;
  }

  get alive(): boolean {
    return this.child !== null && this.exitInfo === null;
  }

  /** stderr lines written since the target accepted connections (its startup banner is not what a crash said). */
  stderrSinceReady(): string[] {
    const lines = this.stderrLines.slice(this.readyLines);
    if (this.partialLine) lines.push(this.partialLine);
    return lines.filter((l) => !this.startupLines.has(normalizeLine(l)));
  }

  stderrTail(n = 20): string[] {
    const lines = [...this.stderrLines];
    if (this.partialLine) lines.push(this.partialLine);
    return lines.slice(-n);
  }

  /** Starts the command and waits until the target accepts TCP connections. */
  async start(): Promise<void> {
    if (!this.command) return;
    this.exitInfo = null;
    this.stderrLines = [];
    this.readyLines = 0;
    this.readyAt = 0;
    this.partialLine = '';
    this.tree = [];
    this.treeAt = 0;
    const script = simpleCommand(this.command) ? `exec ${this.command}` : this.command;
    const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.starts++;
    child.stdout!.on('data', () => undefined);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      const parts = (this.partialLine + s).split('\n');
      this.partialLine = parts.pop() ?? '';
      this.stderrLines.push(...parts);
      // what it prints as it comes up (a banner read a little after readiness) is not what a crash said
      if (this.readyAt && Date.now() - this.readyAt < 100) for (const p of parts) this.startupLines.add(normalizeLine(p));
      if (this.stderrLines.length > 200) {
        const cut = this.stderrLines.length - 200;
        this.stderrLines.splice(0, cut);
        this.readyLines = Math.max(0, this.readyLines - cut);
      }
    });
    child.on('error', (e) => {
      if (this.child === child && !this.exitInfo) {
        this.exitInfo = { code: null, signal: null, text: `could not be started (${e.message})`, stderr: [] };
        this.wakeExit();
      }
    });
    const exited = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.child !== child || this.exitInfo) return;
      this.exitInfo = { code, signal, text: describeExit(code, signal), stderr: this.stderrTail(), said: this.stderrSinceReady() };
      this.wakeExit();
    };
    // 'close' comes once stderr is drained (its last words are in); a
    // descendant that keeps the pipe open gets 300 ms after the exit
    child.on('close', (code, signal) => exited(code, signal));
    child.on('exit', (code, signal) => {
      if (this.child === child) setTimeout(() => exited(code, signal), 300);
    });
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      const ex = this.exited;
      if (ex) {
        const tail = this.stderrTail(5).join(' | ');
        throw new SpawnError(`target command ${ex.text} before accepting connections${tail ? `: ${tail}` : ''}`);
      }
      if (await canConnect(this.host, this.port, 300)) {
        this.tcpReadyAt = Date.now();
        this.readyLines = this.stderrLines.length;
        // the server binds UDP just after TCP: wait until it answers there too
        // (an unbound port refuses at once, so this polls every few ms; a
        // TCP-only target: give up after 5 s)
        const udpUntil = Date.now() + 5000;
        while (!this.exitInfo && Date.now() < udpUntil && !(await udpAnswers(this.host, this.port, 100))) await sleep(READY_POLL_MS);
        this.readyLines = this.stderrLines.length;
        for (const l of this.stderrLines) this.startupLines.add(normalizeLine(l));
        this.readyAt = Date.now();
        return;
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new SpawnError(`target command did not accept connections on ${this.host}:${this.port} within ${this.readyTimeoutMs} ms`);
      }
      // connecting is cheap and a refusal immediate: poll often, a restart costs what the target's start-up costs
      await sleep(READY_POLL_MS);
    }
  }

  private wakeExit(): void {
    const w = this.exitWaiters;
    this.exitWaiters = [];
    for (const f of w) f();
  }

  /** Resolves true when the process has exited (or exits within `ms`). */
  async waitExit(ms: number): Promise<boolean> {
    if (!this.child) return false;
    if (this.exitInfo) return true;
    await new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.exitWaiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
    return this.exitInfo !== null;
  }

  /** Kills the whole process group and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    const pids = this.processTree();
    try {
      process.kill(-child.pid, signal);
    } catch {
      // group already gone
    }
    // processes that left the group (setsid) but are still in the tree
    for (const p of pids) {
      try {
        process.kill(p, signal);
      } catch {
        // gone
      }
    }
    if (!this.exitInfo) await this.waitExit(signal === 'SIGKILL' ? 3000 : 1500);
    if (!this.exitInfo && signal !== 'SIGKILL') return this.stop('SIGKILL');
    this.child = null;
  }

  async restart(): Promise<void> {
    const t0 = Date.now();
    await this.stop();
    const stopped = Date.now();
    this.restarts++;
    await this.start();
    const t1 = Date.now();
    this.restartMs.push(t1 - t0);
    if (this.restartMs.length > 1000) this.restartMs.shift();
    this.restartParts.stop += stopped - t0;
    this.restartParts.tcp += this.tcpReadyAt - stopped;
    this.restartParts.udp += t1 - this.tcpReadyAt;
  }

  /** Where restarts went on average, ms: killing the old process, spawn until TCP accepts, until UDP answers too. */
  get meanRestartParts(): { stop: number; tcp: number; udp: number } {
    const n = Math.max(1, this.restarts);
    return { stop: this.restartParts.stop / n, tcp: this.restartParts.tcp / n, udp: this.restartParts.udp / n };
  }

  /** Mean time of the restarts so far (kill, start, accepting connections), ms; 0 before any. */
  get meanRestartMs(): number {
    return this.restartMs.length ? this.restartMs.reduce((a, b) => a + b, 0) / this.restartMs.length : 0;
  }

  // ---- memory --------------------------------------------------------------------

  /** PIDs of the spawned process and its descendants (re-read at most every second). */
  processTree(): number[] {
    const root = this.child?.pid;
    if (root === undefined || this.exitInfo) return [];
    if (this.tree.length && Date.now() - this.treeAt < 1000) return this.tree;
    const parent = new Map<number, number>();
    const group = new Set<number>();
    let entries: string[] = [];
    try {
      entries = readdirSync('/proc');
    } catch {
      return [root];
    }
    for (const e of entries) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ppid = Number(rest[1]);
        const pgrp = Number(rest[2]);
        parent.set(Number(e), ppid);
        if (pgrp === root) group.add(Number(e));
      } catch {
        // raced with an exit
      }
    }
    const out = new Set<number>([root, ...group]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const [pid, pp] of parent) {
        if (!out.has(pid) && out.has(pp)) {
          out.add(pid);
          grew = true;
        }
      }
    }
    this.tree = [...out];
    this.treeAt = Date.now();
    return this.tree;
  }

  /** Resident memory of the process tree in bytes (VmRSS summed), or null without a spawned target. */
  rss(): number | null {
    if (!this.alive) return null;
    let total = 0;
    for (const pid of this.processTree()) {
      try {
        const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) total += Number(m[1]) * 1024;
      } catch {
        // exited
      }
    }
    return total;
  }
}
