// Public surface of the network layers.

export { NetDecoder, netOptions, MAX_PENDING_DATAGRAMS, type NetCounters } from './decoder.js';
export { ipText, ipv4Text, ipv6Text } from './addr.js';
export { endpointText, flowKeyOf } from './endpoint.js';
export { decodeLink } from './link.js';
export { plausibleAt } from './plausible.js';
export { FrameStream, type FrameStreamOptions } from './framer.js';
export * from './types.js';
