import { readCaptureThreaded } from '../src/net/threaded.js';
let frames = 0, packets = 0;
const t0 = performance.now();
const c0 = process.cpuUsage();
await readCaptureThreaded(process.argv[2]!, {}, { packet: () => void packets++, frame: (e) => void (frames += e.data.length > 0 ? 1 : 0), segment: () => {} });
const c = process.cpuUsage(c0);
console.log(packets, frames, ((performance.now() - t0) / 1e3).toFixed(2), 's wall; main thread+worker cpu', ((c.user + c.system) / 1e6).toFixed(2));
