// The server's states as the fuzzer sees them, inferred from the dissected
// replies (AFLNet's idea: the reply is the state): a state is the request
// opcode, the reply status and, for session operations, what the reply says
// about the session (granted, freed, still held). Edges are consecutive
// replies on one connection. Each state keeps the shortest sequence of steps
// that reached it, so `stateful:walk` can go back there and try something
// new; it aims at the states reached least often.
//
// Written as state-model.dot (Graphviz) and state-model.json in --out.

import { SESSION_ID_FIELDS } from '../../protocol/access.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodedFrame } from '../../protocol/decode.js';
import { OPCODE_BY_CODE, OP_ALLOCATE, OP_FREE, STATUS_OK, statusName } from '../../protocol/fields.js';
import { cloneCase, type FuzzCase, type Step } from './cases.js';

export const START = 'start';

export interface StateInfo {
  visits: number;
  /** Steps (of one connection) that reached it first, shortest seen. */
  prefix: Step[] | null;
  transport: FuzzCase['conns'][number] | null;
}

/** The state a reply puts the exchange in. */
export function replyState(reply: DecodedFrame): string {
  const op = reply.header.opcode;
  const def = op === null ? undefined : OPCODE_BY_CODE.get(op & 0x7fff);
  const status = reply.header.sub_opcode === null ? '?' : statusName(reply.header.sub_opcode);
  const name = def?.name ?? 'unknown';
  let session = '';
  if (reply.header.sub_opcode === STATUS_OK && def) {
    if (def.code === OP_ALLOCATE) session = ' session granted';
    else if (def.code === OP_FREE) session = ' session freed';
    else if (def.request && SESSION_ID_FIELDS.has(def.request)) session = ' session held';
  }
  return `${name} ${status}${session}`;
}

export class StateModel {
  readonly states = new Map<string, StateInfo>([[START, { visits: 0, prefix: [], transport: null }]]);
  readonly edges = new Map<string, number>();

  /** Records the replies of one case: per connection, in step order. */
  observe(c: FuzzCase, replyOf: (step: number) => DecodedFrame | null): void {
    for (let conn = 0; conn < c.conns.length; conn++) {
      let prev = START;
      this.states.get(START)!.visits++;
      const path: number[] = [];
      for (let i = 0; i < c.steps.length; i++) {
        const s = c.steps[i]!;
        if (s.conn !== conn) continue;
        path.push(i);
        const r = replyOf(i);
        if (!r) continue;
        const state = replyState(r);
        const key = `${prev}\u0000${state}`;
        this.edges.set(key, (this.edges.get(key) ?? 0) + 1);
        let info = this.states.get(state);
        if (!info) this.states.set(state, (info = { visits: 0, prefix: null, transport: null }));
        info.visits++;
        // only sequences that bind nothing from outside the path can be replayed
        if ((!info.prefix || info.prefix.length > path.length) && c.conns.length === 1) {
          const copy = cloneCase(c);
          info.prefix = path.map((k) => copy.steps[k]!);
          info.transport = c.conns[conn]!;
        }
        prev = state;
      }
    }
  }

  /** States whose way there only re-triggers a known crash: not walked from again. */
  private readonly avoided = new Set<string>();

  avoid(state: string): void {
    this.avoided.add(state);
  }

  isAvoided(state: string): boolean {
    return this.avoided.has(state);
  }

  /** Reachable states, rarest first (ties: shorter prefix first). */
  rarest(): Array<[string, StateInfo]> {
    return [...this.states.entries()]
      .filter(([s, v]) => v.prefix !== null && !this.avoided.has(s))
      .sort((a, b) => a[1].visits - b[1].visits || a[1].prefix!.length - b[1].prefix!.length);
  }

  toJson(): { states: Array<{ state: string; visits: number; reached_by: number | null }>; edges: Array<{ from: string; to: string; count: number }> } {
    return {
      states: [...this.states.entries()].map(([state, v]) => ({ state, visits: v.visits, reached_by: v.prefix ? v.prefix.length : null })),
      edges: [...this.edges.entries()].map(([k, count]) => {
        const [from, to] = k.split('\u0000') as [string, string];
        return { from, to, count };
      }),
    };
  }

  toDot(): string {
    const q = (s: string) => JSON.stringify(s);
    const lines = ['digraph vvmp_states {', '  rankdir=LR;', '  node [shape=box, fontname="monospace"];'];
    for (const [s, v] of this.states) lines.push(`  ${q(s)} [label=${q(`${s}\n${v.visits} visits`)}${s === START ? ', shape=oval' : ''}];`);
    for (const [k, n] of this.edges) {
      const [from, to] = k.split('\u0000') as [string, string];
      lines.push(`  ${q(from)} -> ${q(to)} [label="${n}"];`);
    }
    lines.push('}');
    return lines.join('\n') + '\n';
  }

  write(dir: string): void {
    writeFileSync(join(dir, 'state-model.dot'), this.toDot());
    writeFileSync(join(dir, 'state-model.json'), JSON.stringify(this.toJson(), null, 1) + '\n');
  }
}
