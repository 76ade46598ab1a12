// A VVMP server (default configuration, port 0) in its own process, for the
// replay throughput measurement. Prints `PORT n`; exits when stdin closes.

import { defaultServerConfig } from '../../src/traffic/config.js';
import { startServer } from '../../src/traffic/server.js';

const s = await startServer({ port: 0, config: defaultServerConfig() });
process.stdout.write(`PORT ${s.tcpPort}\n`);
process.stdin.resume();
process.stdin.on('end', () => void s.close().then(() => process.exit(0)));
