// Driving the real terminal UI inside tmux: start a pane running a command,
// send keys, read the screen, wait for text.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The real command, as a user runs it. */
export function vvmpCommand(): string {
  return `node ${ROOT}/bin/vvmp.js`;
}

export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * This process's own tmux server (`tmux -L`): other tests and other users of
 * tmux on the machine never see it, and killing it touches nothing else.
 */
const SOCKET = `vvmp-tui-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class Tmux {
  private constructor(readonly socket: string, readonly name: string) {}

  /**
   * A detached session of `width`×`height` running `command` (a shell command
   * line) in ROOT. The pane stays after the command ends (remain-on-exit) so
   * its exit status and last screen can be read.
   */
  static start(name: string, command: string, opts: { width?: number; height?: number; env?: Record<string, string> } = {}): Tmux {
    const t = new Tmux(SOCKET, name);
    // A session that lives until killServer: killing the last session would stop the server,
    // and a session started while it stops fails ("server exited unexpectedly").
    try {
      t.tmux('has-session', '-t', 'keeper');
    } catch {
      t.tmux('new-session', '-d', '-s', 'keeper', 'sleep 3600');
    }
    const env = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', ...opts.env };
    const envText = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    t.tmux('new-session', '-d', '-s', name, '-x', String(opts.width ?? 120), '-y', String(opts.height ?? 40), '-c', ROOT, 'sleep 600');
    t.tmux('set-option', '-t', name, 'remain-on-exit', 'on');
    // The shell prints the exit status when the command ends: the pane itself may stay "alive" a
    // while after that (tsx's esbuild helper still holds the terminal).
    t.tmux('respawn-pane', '-k', '-t', name, `cd ${shellQuote(ROOT)} && env ${envText} ${command}; echo "[exit $?]"; sleep 600`);
    return t;
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** The screen as text (no attributes); `escapes` keeps colours and attributes. */
  capture(escapes = false): string {
    return this.tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.name);
  }

  lines(): string[] {
    return this.capture().split('\n');
  }

  /** Keys as tmux names them (`Enter`, `Escape`, `C-d`, `BTab`) or literal text with `literal`. */
  send(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }

  type(text: string): void {
    this.tmux('send-keys', '-t', this.name, '-l', text);
  }

  resize(width: number, height: number): void {
    this.tmux('resize-window', '-t', this.name, '-x', String(width), '-y', String(height));
  }

  /** Waits until the screen satisfies `want` and holds still; returns it. Throws with the last screen on timeout. */
  async waitFor(want: string | RegExp | ((screen: string) => boolean), timeoutMs = 15000): Promise<string> {
    const test = typeof want === 'string' ? (s: string) => s.includes(want)
      : want instanceof RegExp ? (s: string) => want.test(s) : want;
    const end = Date.now() + timeoutMs;
    let screen = '';
    for (;;) {
      screen = this.capture();
      if (test(screen)) {
        // A redraw can be caught half-written: take the screen once it holds still.
        await new Promise((r) => setTimeout(r, 40));
        const again = this.capture();
        if (again === screen) return screen;
      }
      if (Date.now() > end) throw new Error(`timed out waiting for ${String(want)}; screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Exit status once the command ended (as the shell reports it), else null. */
  deadStatus(): number | null {
    const m = /\[exit (\d+)\]/.exec(this.capture());
    return m ? Number(m[1]) : null;
  }

  async waitDead(timeoutMs = 10000): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const st = this.deadStatus();
      if (st !== null) return st;
      if (Date.now() > end) throw new Error(`process still running; screen:\n${this.capture()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(): void {
    try {
      this.tmux('kill-session', '-t', this.name);
    } catch {
      // already gone
    }
  }

  /** Stops this process's private server (never the default one). */
  static killServer(): void {
    const socket = SOCKET;
    try {
      execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // no server
    }
    // tmux does not always remove its socket file when killed.
    const dir = path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
    fs.rmSync(path.join(dir, socket), { force: true });
  }
}
