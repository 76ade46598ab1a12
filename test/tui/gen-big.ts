// Writes a large capture of UDP request/reply pairs for load measurements:
//   npx tsx test/tui/gen-big.ts /tmp/big.pcap 1000000
import { writeBigCapture } from './fixture.js';

const [path = '/tmp/vvmp-1m.pcap', n = '1000000'] = process.argv.slice(2);
const t0 = Date.now();
writeBigCapture(path, Number(n));
process.stdout.write(`${path}: ${n} frames in ${Date.now() - t0} ms\n`);
