// The detail tree of the selected frame (buildTree: the field table with byte
// ranges). Enter/Space expands and collapses; the selected node's bytes are
// highlighted in the hex pane. Which nodes are open is remembered by position
// across frames, so stepping through frames keeps the same view.

import type { AnalyzedFrame } from '../analysis/frame.js';
import { buildTree, type TreeNode } from '../output/tree.js';
import { severityRank } from '../protocol/expert.js';
import type { Action } from './keys.js';
import { ListCursor } from './list.js';
import { cut, type Theme } from './text.js';

interface TreeRow {
  node: TreeNode;
  depth: number;
  path: string;
  kids: boolean;
  open: boolean;
}

export class TreeState {
  private frame: AnalyzedFrame | null = null;
  private nodes: TreeNode[] = [];
  rows: TreeRow[] = [];
  readonly cursor = new ListCursor();
  private readonly openState = new Map<string, boolean>();
  private selPath = '0';

  /** Shows this frame (rebuilds the tree only when the frame object changed). */
  setFrame(f: AnalyzedFrame | null): void {
    if (f === this.frame) return;
    this.frame = f;
    this.nodes = f ? buildTree(f) : [];
    this.flatten();
  }

  get selected(): TreeNode | null {
    return this.rows[this.cursor.sel]?.node ?? null;
  }

  /** Byte range of the selected node, for the hex pane. */
  highlight(): [number, number] | null {
    const n = this.selected;
    return n && n.start !== undefined && n.length !== undefined && n.length > 0 ? [n.start, n.length] : null;
  }

  handle(action: Action, height: number): boolean {
    const row = this.rows[this.cursor.sel];
    switch (action) {
      case 'enter':
      case 'toggle':
        if (!row?.kids) return true;
        this.openState.set(row.path, !row.open);
        this.flatten();
        return true;
      case 'right':
        if (!row?.kids) return true;
        if (!row.open) {
          this.openState.set(row.path, true);
          this.flatten();
        } else this.select(this.cursor.sel + 1, height);
        return true;
      case 'left': {
        if (!row) return true;
        if (row.kids && row.open) {
          this.openState.set(row.path, false);
          this.flatten();
          return true;
        }
        const parent = row.path.includes('.') ? row.path.slice(0, row.path.lastIndexOf('.')) : null;
        if (parent !== null) this.select(this.rows.findIndex((r) => r.path === parent), height);
        return true;
      }
      default:
        if (!this.cursor.move(action, this.rows.length, height)) return false;
        this.selPath = this.rows[this.cursor.sel]?.path ?? this.selPath;
        return true;
    }
  }

  click(line: number, height: number): void {
    this.cursor.click(line, this.rows.length, height);
    this.selPath = this.rows[this.cursor.sel]?.path ?? this.selPath;
  }

  lines(theme: Theme, width: number, height: number, focused: boolean): string[] {
    this.cursor.clamp(this.rows.length, height);
    const out: string[] = [];
    if (!this.frame) return ['  (no frame selected)'];
    const [a, b] = this.cursor.visible(this.rows.length, height);
    for (let i = a; i < b; i++) {
      const r = this.rows[i]!;
      const mark = r.kids ? (r.open ? '▾ ' : '▸ ') : '  ';
      const text = cut(' ' + '  '.repeat(r.depth) + mark + r.node.label, width);
      const rank = r.node.severity ? severityRank(r.node.severity) : 0;
      const sel = i === this.cursor.sel;
      out.push(theme.row(sel ? text.padEnd(width) : text, rank, sel, focused));
    }
    return out;
  }

  private select(i: number, height: number): void {
    if (i < 0) return;
    this.cursor.sel = i;
    this.cursor.clamp(this.rows.length, height);
    this.selPath = this.rows[this.cursor.sel]?.path ?? this.selPath;
  }

  private flatten(): void {
    const rows: TreeRow[] = [];
    const walk = (nodes: TreeNode[], depth: number, prefix: string): void => {
      nodes.forEach((node, i) => {
        const path = prefix + i;
        const kids = (node.children?.length ?? 0) > 0;
        // Open by default: the top nodes and their blocks; device records and deeper stay closed.
        const open = kids && (this.openState.get(path) ?? depth <= 1);
        rows.push({ node, depth, path, kids, open });
        if (open) walk(node.children!, depth + 1, path + '.');
      });
    };
    walk(this.nodes, 0, '');
    this.rows = rows;
    let i = rows.findIndex((r) => r.path === this.selPath);
    // The selected node is gone (closed parent, other frame shape): its nearest ancestor, else the first row.
    for (let p = this.selPath; i < 0 && p.includes('.');) {
      p = p.slice(0, p.lastIndexOf('.'));
      i = rows.findIndex((r) => r.path === p);
    }
    this.cursor.sel = Math.max(0, i);
  }
}
