// Endpoint text as OUTPUT.md writes it: "a.b.c.d:port", IPv6 as "[addr]:port".

import type { Endpoint } from './types.js';

export function endpointText(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}
