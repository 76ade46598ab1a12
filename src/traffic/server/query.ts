// Query: 0x01/0x02/0x03 from the device registry (cached encoded records);
// 0xFF adds each peer's Query 0x01, asked in parallel (peers that do not
// answer are left out).

import { devicesAs, type DeviceRecord } from '../../protocol/access.js';
import type { HeaderFields } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import { OP_QUERY } from '../../protocol/fields.js';
import type { ManagerContext } from './context.js';
import { DEFAULT_TIMEOUT_MS, OK, SUBOP_ANYWHERE, TOO_LARGE } from './model.js';

const RECORD_SIZE = 20;

/**
 * A Query answer is whole or not at all: device records over `maxPayload`
 * bytes get TOO_LARGE with no payload (spec/SERVER.md), never a cut list.
 */
export function query<T>(ctx: ManagerContext<T>, h: HeaderFields, maxPayload: number): FrameSpec | Promise<FrameSpec> {
  const sub = h.sub_opcode!;
  const whole = (recs: DeviceRecord[]): FrameSpec =>
    recs.length * RECORD_SIZE > maxPayload ? ctx.reply(h, TOO_LARGE) : ctx.reply(h, OK, { devices: recs });
  if (sub !== SUBOP_ANYWHERE || !ctx.askPeer || ctx.config.peers.length === 0) {
    const bytes = ctx.registry.encodedRecords(sub);
    return bytes.length > maxPayload ? ctx.reply(h, TOO_LARGE) : ctx.reply(h, OK, bytes);
  }
  const client = h.client_id!;
  if (!ctx.waits.take(client)) return whole(ctx.registry.records(sub));
  const timeout = ctx.forwardBudget(DEFAULT_TIMEOUT_MS);
  const asks = ctx.config.peers.map((peer) => {
    ctx.counters.forwards++;
    return ctx.askPeer!(peer, {
      opcode: OP_QUERY, src_san: ctx.san, dst_san: peer.san_id, client_id: client, server_id: 0n,
      transaction_id: ctx.nextPeerTxid(), sub_opcode: 0x01,
    }, timeout).catch(() => null);
  });
  return Promise.all(asks).then((answers) => {
    ctx.waits.release(client);
    const recs = ctx.registry.records(sub);
    const seen = new Set(recs.map((r) => `${r.san_id}:${r.device_id}`));
    for (const a of answers) {
      const devices = a && a.header.sub_opcode === OK ? devicesAs(a.payloadBlock, a.payload) : null;
      if (!devices) continue;
      for (const r of devices) {
        const key = `${r.san_id}:${r.device_id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        recs.push(r);
      }
    }
    return whole(recs);
  });
}
