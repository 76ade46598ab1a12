import { describe, expect, it } from 'vitest';
import { FilterError, compileFilter } from '../../src/analysis/filter/index.js';

function error(expr: string): FilterError {
  try {
    compileFilter(expr);
  } catch (e) {
    expect(e).toBeInstanceOf(FilterError);
    return e as FilterError;
  }
  throw new Error(`no error for ${expr}`);
}

describe('filter errors: one line, 1-based column', () => {
  it.each([
    // unknown fields, did you mean
    ['vvmp.reply && vvmp.opcod == 1', 15, 'unknown field "vvmp.opcod"; did you mean vvmp.opcode?'],
    ['vvmp.alloc.capacity > 1', 1, 'unknown field "vvmp.alloc.capacity"; did you mean vvmp.alloc.capacity_kb?'],
    ['VVMP.OPCODE == 1', 1, 'unknown field "VVMP.OPCODE"; did you mean vvmp.opcode?'],
    ['capacity_kb > 1', 1, 'unknown field "capacity_kb"; did you mean vvmp.alloc.capacity_kb?'],
    ['session_id == 17', 1, 'unknown field "session_id"; did you mean vvmp.session_id?'],
    ['frobnicate', 1, 'unknown field "frobnicate"'],
    ['vvmp.reply and RAID5', 16, 'unknown field "RAID5"'],
    // syntax
    ['vvmp.reply vvmp.name', 12, 'unexpected "vvmp.name"; expected "&&", "||" or the end of the filter'],
    ['vvmp.reply)', 11, 'unexpected ")" without a matching "("'],
    [')', 1, 'unexpected ")"; expected a field name'],
    ['== 1', 1, 'unexpected "=="; expected a field name'],
    ['"vvmp" == 1', 1, 'unexpected string "vvmp"; expected a field name'],
    ['()', 2, 'missing expression after "("'],
    ['vvmp.reply &&', 14, 'missing expression after "&&"'],
    ['vvmp.reply || && vvmp.reply', 15, 'missing expression after "||"'],
    ['vvmp.reply and', 15, 'missing expression after "and"'],
    ['!', 2, 'missing expression after "!"'],
    ['not', 4, 'missing expression after "not"'],
    ['vvmp.opcode = 1', 13, 'unexpected "="; use "==" to compare'],
    ['vvmp.reply | vvmp.reply', 12, 'unexpected "|"; use "||" for or'],
    ['vvmp.reply @', 12, 'unexpected character "@"'],
    // strings
    ['vvmp.name == "Allocate', 14, 'unterminated string'],
    ['vvmp.name == "a\\', 14, 'unterminated string'],
    ['vvmp.name == "a\\qb"', 16, 'unknown escape "\\q" in string'],
    ['vvmp.name == "\\x4"', 15, '"\\x" needs two hex digits'],
    // parentheses
    ['(vvmp.reply', 12, 'missing ")" to close "(" at column 1'],
    ['vvmp.reply && (frame.number == 1 || (vvmp.reply)', 49, 'missing ")" to close "(" at column 15'],
    ['(vvmp.reply frame.len', 13, 'unexpected "frame.len"; expected ")" to close "(" at column 1'],
    // missing values
    ['vvmp.opcode ==', 15, 'missing value after "=="'],
    ['vvmp.opcode == && vvmp.reply', 16, 'missing value after "=="'],
    ['vvmp.opcode eq)', 15, 'missing value after "eq"'],
    ['vvmp.opcode == or vvmp.reply', 16, 'missing value after "=="'],
    ['vvmp.name contains', 19, 'missing value after "contains"'],
    ['frame.number in {1..}', 21, 'missing value after ".."'],
    // sets
    ['frame.number in 1', 17, 'unexpected "1"; expected "{" after "in"'],
    ['frame.number in', 16, 'missing "{" after "in"'],
    ['frame.number in {}', 17, 'empty set "{}"'],
    ['frame.number in {1 2', 21, 'missing "}" to close "{" at column 17'],
    ['frame.number in {1 (2)}', 20, 'unexpected "(" in set'],
    ['frame.number in {5..1}', 18, 'empty range 5..1: the low end is above the high end'],
    ['vvmp.name in {Query..Free}', 22, 'ranges do not apply to vvmp.name (a string)'],
    // enum and name values
    ['vvmp.alloc.storage_type == RAID9', 28,
      '"RAID9" is not a value of vvmp.alloc.storage_type (JBOD, RAID0, RAID2, RAID3, RAID4, RAID5, ANY)'],
    ['vvmp.alloc.qos == goold', 19,
      '"goold" is not a value of vvmp.alloc.qos (BEST_EFFORT, BRONZE, SILVER, GOLD, PLATINUM); did you mean GOLD?'],
    ['vvmp.status == DENY', 16,
      '"DENY" is not a value of vvmp.status (OK, PENDING, NO_CAPACITY, NO_MATCH, UNKNOWN_SESSION, DENIED, CONFLICT, MALFORMED, BAD_CHECKSUM, UNSUPPORTED, TOO_LARGE, TIMEOUT)'],
    ['vvmp.opcode == Alocate', 16,
      '"Alocate" is not a value of vvmp.opcode (Query, Allocate, Initialize, Free, Modify, Statistics, Announce); did you mean Allocate?'],
    ['vvmp.name == Foo', 14,
      '"Foo" is not a value of vvmp.name (Query, Allocate, Initialize, Free, Modify, Statistics, Announce, Unknown)'],
    ['transport == sctp', 14, '"sctp" is not a value of transport (tcp, udp); did you mean tcp?'],
    ['expert.severity >= warn', 20, '"warn" is not a value of expert.severity (note, warning, error)'],
    ['expert.code == checksum_bda', 16,
      '"checksum_bda" is not a value of expert.code (checksum_bad, frame_short, frame_truncated, udp_trailing, payload_size, status_error, timeout, tcp_desync, opcode_unknown, subop_invalid, reserved_nonzero, reply_unmatched, …); did you mean checksum_bad?'],
    ['vvmp.reply == yes', 15, '"yes" is not a value of vvmp.reply (true, false)'],
    ['vvmp.alloc.flags contains EXCLUSIV', 27,
      '"EXCLUSIV" is not a value of vvmp.alloc.flags (EXCLUSIVE, MIRROR, BACKUP, WAIT); did you mean EXCLUSIVE?'],
    ['vvmp.alloc.flags == EXCLUSIVE', 21,
      'EXCLUSIVE is a flag of vvmp.alloc.flags: test it with "vvmp.alloc.flags contains EXCLUSIVE"'],
    // type mismatches
    ['frame.len == "100"', 14, 'type mismatch: frame.len is an unsigned integer, "100" is a string'],
    ['frame.len == abc', 14, 'type mismatch: frame.len is an unsigned integer, "abc" is not a number'],
    ['frame.len == 1.5', 14, 'type mismatch: frame.len is an unsigned integer, "1.5" is not an integer'],
    ['vvmp.client_id == "0x11"', 19, 'type mismatch: vvmp.client_id is an unsigned integer, "0x11" is a string'],
    ['vvmp.latency > "1"', 16, 'type mismatch: vvmp.latency is a number, "1" is a string'],
    ['vvmp.latency > fast', 16, 'type mismatch: vvmp.latency is a number, "fast" is not a number'],
    ['frame.time > yesterday', 14, '"yesterday" is not a valid time for frame.time (a date "Dec  2, 2026 13:00:00.5" or "2026-12-02 13:00:00.5" (UTC), or epoch seconds)'],
    ['ip.addr == 10.0.0.300', 12,
      '"10.0.0.300" is not an IP address or network (a.b.c.d, a.b.c.d/n, an IPv6 address or IPv6/n)'],
    ['ip.addr == 10.0.0.0/33', 12,
      '"10.0.0.0/33" is not an IP address or network (a.b.c.d, a.b.c.d/n, an IPv6 address or IPv6/n)'],
    ['ip.addr in {10.0.0.1..::1}', 23, 'a range cannot mix IPv4 and IPv6'],
    // operators that do not apply
    ['frame.len contains 1', 11, 'operator "contains" does not apply to frame.len (an unsigned integer)'],
    ['vvmp.reply > 0', 12, 'operator ">" does not apply to vvmp.reply (a boolean)'],
    ['vvmp.reply contains 1', 12, 'operator "contains" does not apply to vvmp.reply (a boolean)'],
    ['ip.addr < 10.0.0.1', 9, 'operator "<" does not apply to ip.addr (an IP address)'],
    ['vvmp.name & 1', 11, 'operator "&" does not apply to vvmp.name (a string)'],
    ['frame.len matches "1"', 11, 'operator "matches" does not apply to frame.len (an unsigned integer)'],
    ['vvmp.latency contains 1', 14, 'operator "contains" does not apply to vvmp.latency (a number)'],
    ['vvmp.alloc > xyz', 14, 'type mismatch: vvmp.alloc is a byte string, "xyz" is not bytes (01:02:03, 0x0102 or "text")'],
    ['ip contains "x"', 1, 'ip is a protocol block: test it alone ("ip") or compare one of its fields'],
    ['vvmp & 1', 1, 'vvmp is a protocol block: test it alone ("vvmp") or compare one of its fields, or its bytes with contains, matches, == or a slice (vvmp[0:2])'],
    ['vvmp.name matches "("', 19, 'invalid regular expression "(": Unterminated group'],
  ])('%s', (expr, column, reason) => {
    const e = error(expr);
    expect(e.message).toBe(`column ${column}: ${reason}`);
    expect(e.column).toBe(column);
    expect(e.reason).toBe(reason);
    expect(e.message).not.toContain('\n');
    expect(e.name).toBe('FilterError');
  });

  it('the first error in the text wins when both parse and field errors exist', () => {
    // syntax is checked before fields are resolved
    expect(error('vvmp.opcod == 1 &&').message).toBe('column 19: missing expression after "&&"');
  });
});
