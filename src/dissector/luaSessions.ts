// The session part of the generated Lua dissector: vvmp.session, the
// "<server_id>/<session_id>" text `vvmp read --json` gives a frame's session
// (OUTPUT.md convention 7, src/analysis/analyzer.ts):
// * an Allocate reply: the session its exchange allocated, keyed by the
//   reply's server_id and the Allocate block's session_id, once an OK reply
//   with that block was seen (PENDING and error replies: none yet);
// * Initialize/Modify/Free/Statistics: the session named by the request's
//   server_id (not 0) and payload session_id when that session was seen
//   allocated; on a reply, by the reply's server_id and its payload
//   session_id (or the request's when the reply carries no block);
// * a request without one takes its first reply's session.
// A session stays known after it is freed or torn down (the newest holder of
// an id), as vvmp's session table keeps it.
//
// Called from the request/response matching of luaExchanges.ts on the first
// pass; the results are stored with the exchange links, so a request whose
// session comes from its reply needs `tshark -2`, as response_in does.

import { hexId } from '../protocol/codec.js';
import { Header, fieldOf } from '../protocol/access.js';
import {
  OPCODES, OP_ALLOCATE, OP_FREE, OP_INITIALIZE, OP_MODIFY, OP_STATISTICS, STATUS_OK, type BlockLayout,
} from '../protocol/fields.js';

/** Opcodes whose exchanges belong to a session (analyzer.ts). */
const SESSION_OPCODES = [OP_ALLOCATE, OP_INITIALIZE, OP_MODIFY, OP_FREE, OP_STATISTICS];

function sessionIdAt(b: BlockLayout | null): string {
  const f = b ? fieldOf(b, 'session_id') : undefined;
  if (!b || b.repeated || !f) return 'nil';
  return `{ off = ${f.offset}, w = ${f.width}, size = ${b.size} }`;
}

/** Per session opcode: where its request's and reply's payload carry session_id. */
function sessionIdTable(): string {
  const rows = SESSION_OPCODES.map((code) => {
    const o = OPCODES.find((x) => x.code === code);
    if (!o) throw new Error(`lua generator: no opcode ${code}`);
    return `[${code}] = { req = ${sessionIdAt(o.request)}, rep = ${sessionIdAt(o.reply)} }`;
  });
  return `{ ${rows.join(', ')} }`;
}

/** Field declaration (added to the dissector's field list). */
export function sessionFieldDecls(p: string): string[] {
  return [`field("${p}.session", ProtoField.string("${p}.session", "Session"))`];
}

/**
 * Lua defining `reset_sessions()`, `session_of_request(tvb, n, opcode, entry)`
 * and `session_of_reply(tvb, n, opcode, entry)` (entry: the open request);
 * each returns the frame's session text or nil.
 */
export function sessionLua(): string {
  const server = Header.field.server_id;
  // Checks the Lua's key text against vvmp's at generation time.
  if (hexId(0xaan) !== '0x00000000000000aa') throw new Error('lua generator: session key text changed');
  return `-- ---- sessions (first pass), see src/dissector/luaSessions.ts --------------------------
local SESSION_ID_AT = ${sessionIdTable()}
local OP_ALLOCATE_X, STATUS_OK_X = ${OP_ALLOCATE}, ${STATUS_OK}
local allocated_sessions = {} -- "<server>/<session id>" -> true once an Allocate OK named it

local function reset_sessions() allocated_sessions = {} end

-- The payload's session_id when the frame's block is decoded (size as declared, all present), else nil.
local function payload_session_id(tvb, n, at)
  if at == nil or 4 * tvb(OFF_LENGTH, 2):uint() ~= at.size or n < HEADER_SIZE + at.size then return nil end
  return tvb(HEADER_SIZE + at.off, at.w):uint()
end

local function server_text(tvb)
  return "0x" .. string.lower(tvb(${server.offset}, ${server.width}):bytes():tohex())
end

local function session_of_request(tvb, n, opcode, entry)
  local at = SESSION_ID_AT[opcode]
  if at == nil then return nil end
  if opcode == OP_ALLOCATE_X then
    entry.alloc = {}
    return nil
  end
  local sid = payload_session_id(tvb, n, at.req)
  entry.sid = sid
  local server = server_text(tvb)
  if sid == nil or server == "${hexId(0n)}" then return nil end
  local key = server .. "/" .. sid
  if allocated_sessions[key] then return key end
  return nil
end

local function session_of_reply(tvb, n, opcode, entry)
  local base = bit32.band(opcode, 0x7fff)
  local at = SESSION_ID_AT[base]
  if at == nil then return nil end
  if base == OP_ALLOCATE_X then
    if entry.alloc == nil then return nil end
    local sid = payload_session_id(tvb, n, at.rep)
    if sid ~= nil and tvb(OFF_SUB, 1):uint() == STATUS_OK_X then
      entry.alloc.key = server_text(tvb) .. "/" .. sid
      allocated_sessions[entry.alloc.key] = true
    end
    return entry.alloc.key
  end
  local sid = payload_session_id(tvb, n, at.rep)
  if sid == nil then sid = entry.sid end
  if sid == nil then return nil end
  local key = server_text(tvb) .. "/" .. sid
  if allocated_sessions[key] then return key end
  return nil
end
`;
}
