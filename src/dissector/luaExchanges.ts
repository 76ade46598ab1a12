// The request/response part of the generated Lua dissector: vvmp.response_in
// (on a request, the frame of its reply), vvmp.response_to (on a reply, the
// frame of its request) and vvmp.time (response time), matched by the rules
// of src/analysis/analyzer.ts: a reply answers the oldest open request of the
// same client, transaction id and opcode; a PENDING reply keeps the request
// open for its grant; the first reply gives the response time, to the
// microsecond as vvmp keeps latencies; a request unanswered past its
// deadline (Allocate/Modify: its timeout_ms, else 5 s) plus 60 s is
// forgotten, so a later reply is unmatched. The matching also gives each
// frame its vvmp.session (src/dissector/luaSessions.ts).
//
// Like Wireshark's own request tracking (conversation data), matching runs
// on the first pass (pinfo.visited false) and stores its results by packet
// number and frame index; later passes read them. One pass (`tshark -Y`)
// knows a request's reply only after it: its response_in needs `tshark -2`
// (or Wireshark, which dissects again on display). Frame numbers are
// Wireshark's (capture packets); `vvmp read` numbers VVMP frames.
//
// "Now" for the deadlines is the latest time of the VVMP packets seen, where
// vvmp takes every packet's: they differ only when other traffic carries a
// later timestamp than the VVMP packet after it.

import { DEFAULT_TIMEOUT_MS, LATE_REPLY_GRACE_NS } from '../analysis/analyzer.js';
import { Header, fieldOf } from '../protocol/access.js';
import { OPCODES, OP_ANNOUNCE, STATUS_PENDING, type FieldDef } from '../protocol/fields.js';
import { sessionFieldDecls, sessionLua } from './luaSessions.js';

function headerOffset(f: FieldDef): { off: number; w: number } {
  return { off: f.offset, w: f.width };
}

/** Opcodes whose request block carries a timeout_ms field: where it is. */
function timeoutFields(): string {
  const out: string[] = [];
  for (const o of OPCODES) {
    const f = o.request ? fieldOf(o.request, 'timeout_ms') : undefined;
    if (o.request && f) out.push(`[${o.code}] = { off = ${f.offset}, w = ${f.width}, size = ${o.request.size} }`);
  }
  return `{ ${out.join(', ')} }`;
}

/** Field declarations (added to the dissector's field list), as `field(name, ProtoField…)` calls. */
export function exchangeFieldDecls(p: string): string[] {
  return [
    `field("${p}.response_in", ProtoField.framenum("${p}.response_in", "Response in", base.NONE))`,
    `field("${p}.response_to", ProtoField.framenum("${p}.response_to", "Request in", base.NONE))`,
    `field("${p}.time", ProtoField.relative_time("${p}.time", "Response time"))`,
    ...sessionFieldDecls(p),
  ];
}

/** Lua defining `track_exchange(tvb, pinfo, root, n)`, called by dissect_frame for each frame. */
export function exchangeLua(p: string): string {
  const client = headerOffset(Header.field.client_id);
  const tx = headerOffset(Header.field.transaction_id);
  const grace = LATE_REPLY_GRACE_NS / 1e9;
  return `${sessionLua()}
-- ---- request/response tracking (first pass), see src/dissector/luaExchanges.ts -----------
local TIMEOUT_FIELDS = ${timeoutFields()}
local DEFAULT_TIMEOUT_MS = ${DEFAULT_TIMEOUT_MS}
local GRACE = NSTime.new(${grace}, 0)
local OP_ANNOUNCE = ${OP_ANNOUNCE}
local STATUS_PENDING_X = ${STATUS_PENDING}
local f_frame_time = Field.new("frame.time")

local open_requests = {}   -- "<client hex>/<txid>" -> list of open requests, oldest first
local exchange_results = {} -- "<packet>:<frame index>" -> { response_in, response_to, time, session }
local latest = nil         -- latest VVMP packet time seen (the deadlines' clock)
local pdu_packet, pdu_index = -1, 0

local function reset_exchanges()
  open_requests, exchange_results, latest = {}, {}, nil
  pdu_packet, pdu_index = -1, 0
  reset_sessions()
end

local function ms_time(ms)
  return NSTime.new(math.floor(ms / 1000), (ms % 1000) * 1000000)
end

-- Response time rounded to the microsecond (JavaScript Math.round: halves up).
local function micro_round(d)
  local us = math.floor((d.secs * 1000000000 + d.nsecs) / 1000 + 0.5)
  local secs = math.floor(us / 1000000)
  return NSTime.new(secs, (us - secs * 1000000) * 1000)
end

local function result_for(key)
  local r = exchange_results[key]
  if r == nil then
    r = {}
    exchange_results[key] = r
  end
  return r
end

local function match_frame(tvb, pinfo, n, key)
  if n < HEADER_SIZE then return end
  local t = f_frame_time().value
  if latest == nil or latest < t then latest = t end
  local opcode = tvb(OFF_OPCODE, 2):uint()
  local reply = bit32.band(opcode, REPLY_BIT) ~= 0
  local open_key = tvb(${client.off}, ${client.w}):bytes():tohex() .. "/" .. tvb(${tx.off}, ${tx.w}):uint()
  if not reply then
    if opcode == OP_ANNOUNCE then return end
    local ms = DEFAULT_TIMEOUT_MS
    local tf = TIMEOUT_FIELDS[opcode]
    if tf and HEADER_SIZE + 4 * tvb(OFF_LENGTH, 2):uint() == HEADER_SIZE + tf.size and n >= HEADER_SIZE + tf.size then
      local asked = tvb(HEADER_SIZE + tf.off, tf.w):uint()
      if asked > 0 then ms = asked end
    end
    local list = open_requests[open_key]
    if list == nil then
      list = {}
      open_requests[open_key] = list
    end
    local entry = { key = key, num = pinfo.number, opcode = opcode, t = t, limit = t + ms_time(ms) + GRACE, pending = false }
    list[#list + 1] = entry
    local session = session_of_request(tvb, n, opcode, entry)
    if session then result_for(key).session = session end
    return
  end
  local list = open_requests[open_key]
  if list == nil then return end
  local base = bit32.band(opcode, 0x7fff)
  local i = 1
  while i <= #list do
    local r = list[i]
    if not r.pending and r.limit < latest then
      table.remove(list, i) -- past its deadline and the grace: forgotten
    elseif r.opcode == base then
      local mine = result_for(key)
      mine.response_to = r.num
      if not r.pending then
        mine.time = micro_round(t - r.t)
        result_for(r.key).response_in = pinfo.number
      end
      local session = session_of_reply(tvb, n, opcode, r)
      if session then
        mine.session = session
        -- A request without a session of its own takes its first reply's.
        local req = result_for(r.key)
        if not r.pending and req.session == nil then req.session = session end
      end
      if tvb(OFF_SUB, 1):uint() == STATUS_PENDING_X then r.pending = true else table.remove(list, i) end
      break
    else
      i = i + 1
    end
  end
  if #list == 0 then open_requests[open_key] = nil end
end

-- Called once per frame: matches on the first pass, shows what is known.
local function track_exchange(tvb, pinfo, root, n)
  if pdu_packet ~= pinfo.number then
    pdu_packet, pdu_index = pinfo.number, 0
  end
  pdu_index = pdu_index + 1
  local key = pinfo.number .. ":" .. pdu_index
  if not pinfo.visited then match_frame(tvb, pinfo, n, key) end
  local r = exchange_results[key]
  if r == nil then return end
  if r.response_in then root:add(F["${p}.response_in"], r.response_in):set_generated() end
  if r.response_to then root:add(F["${p}.response_to"], r.response_to):set_generated() end
  if r.time then root:add(F["${p}.time"], r.time):set_generated() end
  if r.session then root:add(F["${p}.session"], r.session):set_generated() end
end
`;
}
