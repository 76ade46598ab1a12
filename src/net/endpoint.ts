// Endpoint text (OUTPUT.md: "a.b.c.d:port", "[addr]:port") and flow keys.

import type { Endpoint, Transport } from './types.js';

/** `1.2.3.4:5` or `[::1]:5`, made once per endpoint object (the network layers reuse them per flow). */
export function endpointText(e: Endpoint): string {
  return (e.text ??= e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);
}

/** Transport + the two endpoint texts in sorted order: both directions share it. */
export function flowKeyOf(transport: Transport, a: Endpoint, b: Endpoint): string {
  const ta = endpointText(a);
  const tb = endpointText(b);
  return ta <= tb ? `${transport} ${ta} ${tb}` : `${transport} ${tb} ${ta}`;
}
