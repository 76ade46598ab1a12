// "Another client" of bench/serveState.ts, in a process of its own so that its
// latencies are the server's and not the load generator's event loop: sends
// Query 0x01 one at a time for MS milliseconds and prints the latencies' summary.
//
//   npx tsx bench/serveProbe.ts PORT MS
import { VvmpConnection } from '../src/traffic/transport.js';

const [port, ms] = process.argv.slice(2).map(Number);
const q = await VvmpConnection.connect({ port: port! });
const lat: number[] = [];
let txid = 1;
const t0 = performance.now();
while (performance.now() - t0 < ms!) {
  const s = performance.now();
  const r = await q.request({ opcode: 1, sub_opcode: 1, src_san: 1, dst_san: 1, client_id: 0x77n, transaction_id: txid++ });
  if (r.status !== 'OK') {
    process.stderr.write(`query: ${r.status}\n`);
    process.exit(1);
  }
  lat.push(performance.now() - s);
}
await q.close();
lat.sort((a, b) => a - b);
const pct = (p: number) => Number(lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)]!.toFixed(2));
process.stdout.write(JSON.stringify({ n: lat.length, p50: pct(50), p99: pct(99), max: pct(100) }) + '\n');
