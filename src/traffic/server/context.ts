// What the pieces of the SAN manager share: its config, clock, tables and the
// reply builder. The SanManager (manager.ts) is the one implementation.

import type { HeaderFields } from '../../protocol/decode.js';
import type { FrameSpec } from '../../protocol/encode.js';
import type { ServerConfig } from '../config.js';
import type { DeviceRegistry } from './devices.js';
import type { AskPeer, ManagerCounters, Refusal } from './model.js';
import type { SessionTable } from './sessions.js';
import type { WaitQueue } from './waitQueue.js';

export interface ManagerContext<T> {
  readonly config: ServerConfig;
  readonly san: number;
  readonly serverId: bigint;
  readonly now: () => number;
  readonly registry: DeviceRegistry;
  readonly table: SessionTable;
  readonly waits: WaitQueue<T>;
  readonly counters: ManagerCounters;
  readonly askPeer: AskPeer | undefined;
  /** Pushes a reply that answers an earlier request (PENDING's second reply). */
  readonly deliver: ((target: T, reply: FrameSpec) => void) | undefined;
  /** A reply header for request `h` (VVMP.md section 7) with status and payload. */
  reply(h: HeaderFields, status: number, payload?: FrameSpec['payload']): FrameSpec;
  /** Sessions or devices changed. */
  changed(): void;
  /** A request or Announce was refused for security or quota reasons (logged). */
  refused(r: Refusal): void;
  /** Transaction id for the next request to a peer. */
  nextPeerTxid(): number;
  /** How long a forward may take: min(peer_timeout_ms, ¾ of the request's timeout). */
  forwardBudget(timeoutMs: number): number;
}
