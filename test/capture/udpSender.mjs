// A paced UDP sender for the live-capture loss tests and bench (a process of its own, so the
// pace does not depend on the test's event loop):
//
//   node test/capture/udpSender.mjs PORT RATE SECONDS
//
// Sends RATE packets/s for SECONDS to 127.0.0.1:PORT, where it also binds a socket that reads
// them (so no ICMP port-unreachable answers join the traffic). Each payload is 'VVLT', the packet's
// sequence number (u32 BE, from 0), then zeros up to 64 bytes. Prints one JSON line at the end:
// {"sent":N,"failed":F,"seconds":S} (N: packets the kernel took). SIGTERM stops early (same line).
import * as dgram from 'node:dgram';

const [port, rate, seconds] = process.argv.slice(2).map(Number);
const sock = dgram.createSocket('udp4');
const sink = dgram.createSocket('udp4');
sock.on('error', () => {});
sink.on('message', () => {});
const total = Math.round(rate * seconds);
let sent = 0;
/** Sends the kernel refused (ENOBUFS…): not on the wire, not counted as sent. */
let failed = 0;
let done = false;
const t0 = performance.now();

function finish() {
  if (done) return;
  done = true;
  const secs = (performance.now() - t0) / 1000;
  // Let queued sends leave before closing.
  setTimeout(() => {
    process.stdout.write(JSON.stringify({ sent: sent - failed, failed, seconds: secs }) + '\n');
    sock.close();
    sink.close();
  }, 50);
}

function tick() {
  if (done) return;
  const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
  while (sent < due) {
    const b = Buffer.alloc(64);
    b.write('VVLT', 0, 'latin1');
    b.writeUInt32BE(sent, 4);
    sock.send(b, (err) => { if (err) failed++; });
    sent++;
  }
  if (sent >= total) finish();
  else setTimeout(tick, 1);
}

process.on('SIGTERM', finish);
// Connected: no address handling per packet (about twice the rate).
sink.bind(port, '127.0.0.1', () =>
  sock.bind(0, '127.0.0.1', () => sock.connect(port, '127.0.0.1', () => tick())));
