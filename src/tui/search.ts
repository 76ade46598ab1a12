// Search in the Frames view (`Ctrl-s`, `:search TEXT`, then `n`/`N`): a
// frame matches when its summary line, any line of its detail tree, or its
// bytes contain the text. Text that reads as hex bytes (`de ad be ef`,
// `0xdeadbeef`, `de:ad`) is also looked for as those bytes; any text is
// looked for as its ASCII bytes too. Case does not matter in text.

import type { AnalyzedFrame } from '../analysis/frame.js';
import { frameSummary } from '../output/summary.js';
import { buildTree, type TreeNode } from '../output/tree.js';

export type FrameMatcher = (f: AnalyzedFrame, bytes: Uint8Array) => boolean;

/** The byte sequence a hex text stands for, or null when it is not hex. */
export function hexBytes(text: string): Uint8Array | null {
  const t = text.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]{2}([ :]?[0-9a-f]{2})*$/i.test(t)) return null;
  const digits = t.replace(/[ :]/g, '');
  return Uint8Array.from(digits.match(/../g)!.map((h) => parseInt(h, 16)));
}

export function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  if (needle.length === 0) return 0;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

function treeHas(nodes: readonly TreeNode[], q: string): boolean {
  for (const n of nodes) {
    if (n.label.toLowerCase().includes(q)) return true;
    if (n.children && treeHas(n.children, q)) return true;
  }
  return false;
}

export function frameMatcher(text: string): FrameMatcher {
  const q = text.toLowerCase();
  const hex = hexBytes(text);
  const ascii = Uint8Array.from(Buffer.from(text, 'latin1'));
  return (f, bytes) => frameSummary(f).toLowerCase().includes(q)
    || (hex !== null && indexOfBytes(bytes, hex) >= 0)
    || indexOfBytes(bytes, ascii) >= 0
    || treeHas(buildTree(f), q);
}
