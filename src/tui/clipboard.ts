// Copying text out of the UI (`y`, `:copy`): to a file when one is named,
// else to the system clipboard through the first tool present (wl-copy on
// Wayland, xclip or xsel on X11, pbcopy on macOS); without one, through the
// terminal (OSC 52, which tmux and most terminals pass to the clipboard) and
// to a file in the temporary directory as well, since OSC 52 cannot be
// confirmed. The result says where the text went.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Tool {
  cmd: string;
  args: string[];
  when: (env: NodeJS.ProcessEnv) => boolean;
}

const TOOLS: readonly Tool[] = [
  { cmd: 'wl-copy', args: [], when: (e) => !!e.WAYLAND_DISPLAY },
  { cmd: 'xclip', args: ['-selection', 'clipboard'], when: (e) => !!e.DISPLAY },
  { cmd: 'xsel', args: ['--clipboard', '--input'], when: (e) => !!e.DISPLAY },
  { cmd: 'pbcopy', args: [], when: () => process.platform === 'darwin' },
];

/** Where text copied without a named file and without a clipboard tool is written. */
export function clipboardFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.TMPDIR || os.tmpdir(), 'vvmp-clipboard.txt');
}

/** The OSC 52 sequence setting the clipboard (inside tmux, wrapped so tmux passes it on). */
export function osc52(text: string, env: NodeJS.ProcessEnv = process.env): string {
  const seq = `\x1b]52;c;${Buffer.from(text, 'utf8').toString('base64')}\x07`;
  return env.TMUX ? `\x1bPtmux;${seq.replace(/\x1b/g, '\x1b\x1b')}\x1b\\` : seq;
}

/**
 * Copies `text`; returns where it went, as a phrase for the status bar.
 * Throws a one-line error when a named file cannot be written.
 */
export function copyText(text: string, file: string | null, writeTerminal: (s: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  if (file) {
    try {
      fs.writeFileSync(file, text.endsWith('\n') ? text : text + '\n');
    } catch (e) {
      throw new Error(`${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return file;
  }
  for (const t of TOOLS) {
    if (!t.when(env)) continue;
    const r = spawnSync(t.cmd, t.args, { input: text, stdio: ['pipe', 'ignore', 'ignore'], timeout: 2000 });
    if (r.status === 0) return `the clipboard (${t.cmd})`;
  }
  writeTerminal(osc52(text, env));
  const fallback = clipboardFile(env);
  try {
    fs.writeFileSync(fallback, text.endsWith('\n') ? text : text + '\n');
  } catch (e) {
    return `the terminal clipboard (OSC 52; ${fallback} not writable: ${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  return `the terminal clipboard (OSC 52) and ${fallback}`;
}
