// A start with a --state file: stray temp files removed, the journal read,
// its sessions restored or torn down (restore mode), the journal compacted
// and attached to the session table. Says whether the start is a boot.

import { hexId } from '../../protocol/codec.js';
import type { ServerConfig } from '../config.js';
import type { SanManager } from '../manager.js';
import { StateJournal, loadStateFile, removeStrayTemps } from './journal.js';
import { ts } from './logLines.js';

export function openState<T>(
  manager: SanManager<T>, cfg: ServerConfig, path: string, mode: 'teardown' | 'keep', log?: (line: string) => void,
): { journal: StateJournal; boot: boolean } {
  let boot = true;
  const stray = removeStrayTemps(path);
  if (stray.length > 0) log?.(`ts=${ts()} event=state_temp_removed file=${path} count=${stray.length}`);
  const loaded = loadStateFile(path);
  if (loaded) {
    const { state } = loaded;
    if (state.san_id !== cfg.san_id || BigInt(state.server_id) !== cfg.server_id) {
      throw new Error(`${path}: state of SAN ${state.san_id} server ${state.server_id}, not of this server (SAN ${cfg.san_id} server ${hexId(cfg.server_id)})`);
    }
    const r = manager.restore(state, mode);
    boot = mode === 'teardown' || r.restored === 0;
    log?.(`ts=${ts()} event=state_restored file=${path} mode=${mode} sessions=${r.restored} torn_down=${r.dropped} `
      + `records=${loaded.records}${loaded.tornTail ? ' torn_tail=1' : ''}`);
  }
  // Compacted at every start; the first write fails loudly (a bad path should stop the start).
  const journal = new StateJournal(path, cfg, (line) => log?.(`ts=${ts()} ${line}`));
  journal.start(manager.table.values(), manager.table.retiredIds(), manager.table.counter);
  manager.table.listener = journal;
  return { journal, boot };
}
