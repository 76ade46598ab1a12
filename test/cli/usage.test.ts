// One error style for every one-line error ("vvmp: …", commander's included),
// required options marked in help, one spelling of QoS best-effort.

import { describe, expect, it } from 'vitest';
import { vvmp } from '../helpers/cli.js';

describe('usage errors and help', () => {
  it('commander errors use the "vvmp: " style and keep exit 2', () => {
    for (const args of [['read', '--bogus'], ['nosuchcommand'], ['client', 'allocate'], ['stats']]) {
      const r = vvmp(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0], args.join(' ')).toMatch(/^vvmp: /);
      expect(r.stderr).not.toMatch(/^error: /m);
    }
  });
  it('client help marks required options', () => {
    const help = vvmp(['client', 'allocate', '--help']).stdout;
    expect(help).toMatch(/--capacity <size>\s+\(required\)/);
    expect(help).not.toMatch(/--qos <class>\s+\(required\)/);
    expect(vvmp(['client', 'free', '--help']).stdout).toMatch(/--session <id>\s+\(required\)/);
  });
  it('QoS: help and error spell best-effort; best_effort and best-effort are both accepted', () => {
    expect(vvmp(['client', 'allocate', '--help']).stdout).toContain('best-effort');
    const bad = vvmp(['client', 'allocate', '--capacity', '1GiB', '--qos', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('vvmp: bad QoS class "nope": use one of best-effort, bronze, silver, gold, platinum\n');
    for (const q of ['best_effort', 'best-effort']) {
      // Nothing listens on port 1: the QoS is accepted, the connection is what fails (exit 1).
      const r = vvmp(['client', 'allocate', '--capacity', '1GiB', '--qos', q, '--target', '127.0.0.1:1']);
      expect(r.code, q).toBe(1);
      expect(r.stderr).toMatch(/^vvmp: 127\.0\.0\.1:1: /);
    }
  });
  it('-V with --json is refused on read and live (one line, exit 2), not silently dropped', () => {
    for (const args of [['read', 'captures/demo.pcapng', '-V', '--json'], ['live', '-i', 'lo', '-V', '--json']]) {
      const r = vvmp(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('vvmp: -V cannot be combined with --json: it already carries every field (use one of them)\n');
    }
  });
  it('read -: standard input, not "no such file"', () => {
    const r = vvmp(['read', '-'], { input: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('vvmp: <stdin>: empty input, not a capture\n');
  });
});
