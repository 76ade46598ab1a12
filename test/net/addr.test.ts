import { describe, expect, it } from 'vitest';
import { ipv6Text } from '../../src/net/addr.js';
import { endpointText, flowKeyOf } from '../../src/net/endpoint.js';
import { ip6 } from './build.js';

function v6(text: string): string {
  return ipv6Text(Uint8Array.from(ip6(text)), 0);
}

describe('address text', () => {
  it('compresses IPv6 as RFC 5952 says', () => {
    expect(v6('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(v6('0:0:0:0:0:0:0:0')).toBe('::');
    expect(v6('2001:DB8:0:0:0:0:2:1')).toBe('2001:db8::2:1');
    expect(v6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // one zero group stays
    expect(v6('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1'); // the longest run
    expect(v6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // the first of equal runs
    expect(v6('fe80:0:0:0:0:0:0:0')).toBe('fe80::');
    expect(v6('2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001')).toBe('2001:db8:aaaa:bbbb:cccc:dddd:eeee:1');
    expect(v6('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1');
  });

  it('writes endpoints and direction-free flow keys', () => {
    expect(endpointText({ ip: '10.0.0.1', port: 7369 })).toBe('10.0.0.1:7369');
    expect(endpointText({ ip: 'fd00::1', port: 5 })).toBe('[fd00::1]:5');
    const a = { ip: '10.0.0.2', port: 40000 };
    const b = { ip: '10.0.0.1', port: 7369 };
    expect(flowKeyOf('tcp', a, b)).toBe('tcp 10.0.0.1:7369 10.0.0.2:40000');
    expect(flowKeyOf('tcp', b, a)).toBe(flowKeyOf('tcp', a, b));
  });
});
