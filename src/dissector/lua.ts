// `vvmp dissector --lua`: a Wireshark Lua dissector generated from the field
// table (src/protocol/fields.ts). Every header and payload field, every value
// name, flag bit, reserved mask, opcode layout, valid sub-opcode and status
// comes from the table; this file holds only the Lua that walks those tables
// and the rules of src/protocol/decode.ts, restated in Lua.
//
// Checked against tshark 4.0 (Lua 5.2): `tshark -X lua_script:vvmp.lua -r F`.

import { Header, fieldOf } from '../protocol/access.js';
import { EXPERT, EXPERT_CODES, expertCodesWhere, type ExpertCode, type ExpertGroup, type Severity } from '../protocol/expert.js';
import {
  HEADER, HEADER_SIZE, OPCODES, PAYLOAD_BLOCKS, REPLY_BIT, STATUSES, STATUS_OK, STATUS_PENDING,
  type BlockLayout, type FieldDef, type FieldUnit,
} from '../protocol/fields.js';
import { DEFAULT_MAX_PAYLOAD, DEFAULT_PORT } from '../net/types.js';
import { exchangeFieldDecls, exchangeLua } from './luaExchanges.js';

/**
 * The expert codes of VVMP.md section 8 that one frame shows by itself (the
 * rest need the exchange, the session table or the TCP stream).
 */
export const FRAME_EXPERT_CODES: readonly ExpertCode[] = [...expertCodesWhere((d) => d.scope === 'frame')];

/** Summary text of each per-frame code (presentation only; severity and group come from the expert table). */
const EXPERT_TEXT: Readonly<Record<string, string>> = {
  checksum_bad: 'Bad checksum',
  frame_short: 'Frame shorter than the 32-byte header',
  frame_truncated: 'Frame truncated',
  udp_trailing: 'Bytes after the frame in the datagram',
  payload_size: 'Payload size wrong for the opcode',
  status_error: 'Error status',
  opcode_unknown: 'Unknown opcode',
  subop_invalid: 'Invalid sub-opcode or status',
  reserved_nonzero: 'Reserved bits or field not zero',
  status_pending: 'PENDING reply',
};

/** Wireshark's name (expert.group.X) of each expert group. */
const GROUP_LUA: Readonly<Record<ExpertGroup, string>> = {
  checksum: 'CHECKSUM', malformed: 'MALFORMED', protocol: 'PROTOCOL', undecoded: 'UNDECODED',
  response: 'RESPONSE_CODE', sequence: 'SEQUENCE', reassemble: 'REASSEMBLE',
};

const SEVERITY_LUA: Readonly<Record<Severity, string>> = { error: 'ERROR', warning: 'WARN', note: 'NOTE' };

/** Unit suffixes (singular, plural) for base.UNIT_STRING. */
const UNIT_SUFFIX: Readonly<Partial<Record<FieldUnit, readonly [string, string]>>> = {
  kb: [' KB', ' KB'],
  kbps: [' KB/s', ' KB/s'],
  bytes: [' byte', ' bytes'],
  ms: [' ms', ' ms'],
  words: [' word', ' words'],
};

const WIDTH_TYPE: Readonly<Record<number, string>> = { 1: 'uint8', 2: 'uint16', 3: 'uint24', 4: 'uint32', 8: 'uint64' };

// ---- Lua text helpers -----------------------------------------------------------

/** A Lua 5.2 string literal (no \u escapes in 5.2: non-ASCII goes as decimal byte escapes). */
export function luaStr(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\${byte.toString().padStart(3, '0')}`;
  }
  return out + '"';
}

function hex(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

/** `{ [0x01] = "A", ... }` */
function valueTable(names: Readonly<Record<number, string>>): string {
  const entries = Object.entries(names)
    .map(([v, n]) => [Number(v), n] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([v, n]) => `[${hex(v)}] = ${luaStr(n)}`);
  return `{ ${entries.join(', ')} }`;
}

function luaSet(values: Iterable<number>): string {
  return `{ ${[...values].sort((a, b) => a - b).map((v) => `[${hex(v)}] = true`).join(', ')} }`;
}

/** Lua-safe local name for a value-names table. */
class NameTables {
  private readonly ids = new Map<Readonly<Record<number, string>>, string>();
  readonly decls: string[] = [];

  /** `hint`: a short name; `qualified`: the name to use when the short one is taken. */
  ref(names: Readonly<Record<number, string>>, hint: string, qualified = hint): string {
    let id = this.ids.get(names);
    if (!id) {
      const taken = new Set(this.ids.values());
      id = `VS_${hint.replace(/[^A-Za-z0-9]/g, '_')}`;
      if (taken.has(id)) id = `VS_${qualified.replace(/[^A-Za-z0-9]/g, '_')}`;
      while (taken.has(id)) id += '_';
      this.ids.set(names, id);
      this.decls.push(`local ${id} = ${valueTable(names)}`);
    }
    return id;
  }
}

// ---- fields -------------------------------------------------------------------------

function fieldBase(f: FieldDef): string {
  if (f.kind === 'id' || f.kind === 'flags' || f.kind === 'reserved' || f.unit === 'hex') return 'base.HEX';
  if (f.names) return 'base.DEC';
  if (f.unit && UNIT_SUFFIX[f.unit]) return 'base.UNIT_STRING';
  return 'base.DEC';
}

function protoFieldDecl(f: FieldDef, tables: NameTables, extraNames?: string): string {
  const type = WIDTH_TYPE[f.width];
  if (!type) throw new Error(`lua generator: ${f.filter} has unsupported width ${f.width}`);
  const b = fieldBase(f);
  let vs = 'nil';
  if (f.names) vs = tables.ref(f.names, f.name, f.filter.split('.').slice(1).join('_'));
  else if (extraNames) vs = extraNames;
  else if (b === 'base.UNIT_STRING') vs = `{ ${UNIT_SUFFIX[f.unit!]!.map(luaStr).join(', ')} }`;
  return `ProtoField.${type}(${luaStr(f.filter)}, ${luaStr(f.label)}, ${b}, ${vs})`;
}

/** Bit sub-fields of a flags field: one bool per named bit, one uint for the reserved mask. */
function bitDecls(f: FieldDef): { filter: string; decl: string }[] {
  const out: { filter: string; decl: string }[] = [];
  const bitsWidth = f.width * 8;
  for (const b of f.bits ?? []) {
    const filter = `${f.filter}.${b.name.toLowerCase()}`;
    out.push({ filter, decl: `ProtoField.bool(${luaStr(filter)}, ${luaStr(b.name)}, ${bitsWidth}, nil, ${hex(2 ** b.bit)})` });
  }
  if (f.reservedMask) {
    const filter = `${f.filter}.reserved`;
    out.push({
      filter,
      decl: `ProtoField.${WIDTH_TYPE[f.width]}(${luaStr(filter)}, "Reserved bits", base.HEX, nil, ${hex(f.reservedMask)})`,
    });
  }
  return out;
}

/** Generated (derived) fields, as our display filters name them. */
const DERIVED_FIELDS: readonly { filter: string; decl: (v: string) => string }[] = [
  { filter: 'reply', decl: (f) => `ProtoField.bool(${luaStr(f)}, "Reply")` },
  { filter: 'status', decl: (f) => `ProtoField.uint8(${luaStr(f)}, "Status", base.HEX, VS_status)` },
  { filter: 'name', decl: (f) => `ProtoField.string(${luaStr(f)}, "Name")` },
  { filter: 'checksum_ok', decl: (f) => `ProtoField.bool(${luaStr(f)}, "Checksum OK")` },
  { filter: 'session_id', decl: (f) => `ProtoField.uint16(${luaStr(f)}, "Session id (any payload)", base.DEC)` },
  { filter: 'payload', decl: (f) => `ProtoField.bytes(${luaStr(f)}, "Payload (not decoded)")` },
  { filter: 'trailing', decl: (f) => `ProtoField.bytes(${luaStr(f)}, "Trailing bytes")` },
];

function fieldSpec(f: FieldDef): string {
  const parts = [
    `f = F[${luaStr(f.filter)}]`,
    `name = ${luaStr(f.name)}`,
    `label = ${luaStr(f.label)}`,
    `off = ${f.offset}`,
    `w = ${f.width}`,
  ];
  if (f.kind === 'reserved') parts.push('reserved = true');
  if (f.reservedMask) parts.push(`rmask = ${hex(f.reservedMask)}`);
  const bits = bitDecls(f);
  if (bits.length) parts.push(`bits = { ${bits.map((b) => `F[${luaStr(b.filter)}]`).join(', ')} }`);
  return `{ ${parts.join(', ')} }`;
}

/** Offset of a non-repeated block's u16 session_id (the derived `vvmp.session_id`), or null. */
function sessionOffset(b: BlockLayout): number | null {
  const f = fieldOf(b, 'session_id');
  return !b.repeated && f && f.width === 2 ? f.offset : null;
}

function blockVar(b: BlockLayout): string {
  return `B_${b.id.replace(/[^A-Za-z0-9]/g, '_')}`;
}

// ---- the generator --------------------------------------------------------------------

export interface LuaOptions {
  /** Default TCP/UDP port (a preference in Wireshark). */
  port?: number;
}

/** The whole Lua dissector, as text. */
export function generateLuaDissector(opts: LuaOptions = {}): string {
  const port = opts.port ?? DEFAULT_PORT;
  const tables = new NameTables();
  const p = HEADER.prefix;

  // Value names that are not a field's own: opcodes (requests and replies) and statuses.
  const opcodeNames: Record<number, string> = {};
  for (const o of OPCODES) {
    opcodeNames[o.code] = o.name;
    if (o.hasReply) opcodeNames[o.code | REPLY_BIT] = `${o.name} reply`;
  }
  const vsOpcode = tables.ref(opcodeNames, 'opcode');
  const vsStatus = tables.ref(STATUSES, 'status');

  // Field declarations, in table order.
  const decls: string[] = [];
  const allFilters: string[] = [];
  const declare = (filter: string, decl: string) => {
    if (allFilters.includes(filter)) throw new Error(`lua generator: field ${filter} declared twice`);
    allFilters.push(filter);
    decls.push(`field(${luaStr(filter)}, ${decl})`);
  };
  for (const f of HEADER.fields) {
    declare(f.filter, protoFieldDecl(f, tables, f.name === 'opcode' ? vsOpcode : undefined));
  }
  for (const d of DERIVED_FIELDS) declare(`${p}.${d.filter}`, d.decl(`${p}.${d.filter}`).replace('VS_status', vsStatus));
  for (const b of PAYLOAD_BLOCKS) {
    declare(b.prefix, `ProtoField.none(${luaStr(b.prefix)}, ${luaStr(b.label)})`);
    for (const f of b.fields) {
      declare(f.filter, protoFieldDecl(f, tables));
      for (const bit of bitDecls(f)) declare(bit.filter, bit.decl);
    }
  }

  const experts = FRAME_EXPERT_CODES.map((code) => {
    const text = EXPERT_TEXT[code];
    if (!text) throw new Error(`lua generator: no expert text for ${code}`);
    return `E.${code} = ProtoExpert.new(${luaStr(`${p}.expert.${code}`)}, ${luaStr(`${text} (${code})`)}, ` +
      `expert.group.${GROUP_LUA[EXPERT[code].group]}, expert.severity.${SEVERITY_LUA[EXPERT_CODES[code]]})`;
  });

  const headerSpec = HEADER.fields.map((f) => `  ${fieldSpec(f)},`);
  const blocks = PAYLOAD_BLOCKS.map((b) => [
    `local ${blockVar(b)} = {`,
    `  id = ${luaStr(b.id)}, item = F[${luaStr(b.prefix)}], label = ${luaStr(b.label)}, size = ${b.size}, repeated = ${b.repeated},`,
    `  session_off = ${sessionOffset(b) ?? 'nil'},`,
    '  fields = {',
    ...b.fields.map((f) => `    ${fieldSpec(f)},`),
    '  },',
    '}',
  ].join('\n'));
  const opcodes = OPCODES.map((o) => [
    `  [${hex(o.code)}] = {`,
    `    name = ${luaStr(o.name)}, has_reply = ${o.hasReply},`,
    `    request = ${o.request ? blockVar(o.request) : 'nil'}, reply = ${o.reply ? blockVar(o.reply) : 'nil'},`,
    `    subops = ${luaSet(Object.keys(o.subops).map(Number))}, subop_names = ${valueTable(o.subops)},`,
    '  },',
  ].join('\n'));

  const fOpcode = Header.field.opcode;
  const fSub = Header.field.sub_opcode;
  const fLength = Header.field.length;
  const fChecksum = Header.field.checksum;
  const fTx = Header.field.transaction_id;
  const subIndex = (HEADER.fields as readonly FieldDef[]).indexOf(fSub);

  return `-- VVMP dissector for Wireshark/tshark, generated by \`vvmp dissector --lua\` from
-- the VVMP field table (src/protocol/fields.ts). Do not edit: regenerate.
--
--   tshark -X lua_script:vvmp.lua -r capture.pcap
--   or copy into ~/.local/lib/wireshark/plugins/
--
-- Preferences: vvmp.port (default ${port}, UDP and TCP), vvmp.heuristic (find
-- VVMP on any port by its header; off by default, like \`vvmp read\`).
-- Per-frame expert infos mirror src/protocol/decode.ts: ${FRAME_EXPERT_CODES.join(', ')}.

local vvmp = Proto("vvmp", "VVMP")

local HEADER_SIZE = ${HEADER_SIZE}
local REPLY_BIT = ${hex(REPLY_BIT)}
local STATUS_OK = ${hex(STATUS_OK)}
local STATUS_PENDING = ${hex(STATUS_PENDING)}
local DEFAULT_PORT = ${port}
local MAX_PAYLOAD = ${DEFAULT_MAX_PAYLOAD}
local OFF_OPCODE, OFF_SUB, OFF_LENGTH, OFF_CHECKSUM, OFF_TX = ${fOpcode.offset}, ${fSub.offset}, ${fLength.offset}, ${fChecksum.offset}, ${fTx.offset}

-- ---- value names ------------------------------------------------------------------
${tables.decls.join('\n')}
local STATUSES = ${vsStatus}

-- ---- fields (filter names as in \`vvmp read -Y\`) ----------------------------------------
local F, field_list = {}, {}
local function field(name, pf)
  F[name] = pf
  field_list[#field_list + 1] = pf
end
${decls.join('\n')}
${exchangeFieldDecls(p).join('\n')}
vvmp.fields = field_list

-- ---- expert infos (VVMP.md section 8, the codes one frame shows) ----------------------------
local E = {}
${experts.join('\n')}
vvmp.experts = { ${FRAME_EXPERT_CODES.map((c) => `E.${c}`).join(', ')} }

-- ---- layouts ---------------------------------------------------------------------------
local HEADER_FIELDS = {
${headerSpec.join('\n')}
}

${blocks.join('\n\n')}

local OPCODES = {
${opcodes.join('\n')}
}

-- ---- preferences ------------------------------------------------------------------------------
vvmp.prefs.port = Pref.uint("Port", DEFAULT_PORT, "UDP and TCP port decoded as VVMP")
vvmp.prefs.heuristic = Pref.bool("Heuristic", false,
  "Also find VVMP on any port by its header (known opcode, fitting sub-opcode, length, good checksum)")

-- ---- helpers --------------------------------------------------------------------------------------
local PT_TCP = 2

local function hex2(v) return string.format("0x%02x", v) end

-- The opcode definition, nil when unknown (0x8007: Announce has no reply).
local function opcode_def(opcode)
  local def = OPCODES[bit32.band(opcode, 0x7fff)]
  if def == nil then return nil end
  if bit32.band(opcode, REPLY_BIT) ~= 0 and not def.has_reply then return nil end
  return def
end

local function byte_sum(tvb, at, len)
  if len <= 0 then return 0 end
  local ba = tvb:bytes(at, len)
  local s = 0
  for i = 0, len - 1 do s = s + ba:get_index(i) end
  return s % 256
end

local function all_zero(range)
  local ba = range:bytes()
  for i = 0, ba:len() - 1 do
    if ba:get_index(i) ~= 0 then return false end
  end
  return true
end

local function status_name(v)
  return STATUSES[v] or string.format("0x%02X", v)
end

-- Info column: the first frame of a packet sets it, later ones append.
local info_packet = -1
local function set_info(pinfo, text)
  pinfo.cols.protocol = "VVMP"
  if info_packet ~= pinfo.number then
    info_packet = pinfo.number
    pinfo.cols.info:set(text)
  else
    pinfo.cols.info:append(" | " .. text)
  end
end

${exchangeLua(p)}
function vvmp.init() info_packet = -1; reset_exchanges() end

-- Adds one payload record at \`at\`; reports the first reserved field or bit that is
-- not zero (decode.ts reports one per frame). Returns true when it reported one.
local function add_record(tree, tvb, at, blk, index, reported)
  local item = tree:add(blk.item, tvb(at, blk.size))
  if index then item:append_text(" " .. index) end
  for _, fd in ipairs(blk.fields) do
    local r = tvb(at + fd.off, fd.w)
    local fi = item:add(fd.f, r)
    if fd.bits then
      for _, b in ipairs(fd.bits) do fi:add(b, r) end
    end
    if not reported then
      local msg = nil
      if fd.reserved and not all_zero(r) then
        msg = string.lower(fd.label) .. " " .. fd.name .. " is not 0"
      elseif fd.rmask and bit32.band(r:uint(), fd.rmask) ~= 0 then
        msg = "reserved bits of " .. fd.name .. " set (" .. hex2(r:uint()) .. ")"
      end
      if msg then
        if index then msg = string.lower(blk.label) .. " " .. index .. ": " .. msg end
        fi:add_proto_expert_info(E.reserved_nonzero, msg)
        reported = true
      end
    end
  end
  return item, reported
end

-- ---- one frame ------------------------------------------------------------------------------------
-- \`tvb\` holds one candidate frame: for UDP the whole datagram (\`udp\` true), for TCP
-- exactly one frame. The rules are those of decodeFrame in src/protocol/decode.ts.
local function dissect_frame(tvb, pinfo, tree, udp)
  local n = tvb:len()
  local root = tree:add(vvmp, tvb(0, n))

  for _, h in ipairs(HEADER_FIELDS) do
    if n >= h.off + h.w then h.item = root:add(h.f, tvb(h.off, h.w)) else h.item = nil end
  end
  track_exchange(tvb, pinfo, root, n)

  local declared = nil
  if n >= OFF_LENGTH + 2 then declared = HEADER_SIZE + 4 * tvb(OFF_LENGTH, 2):uint() end
  local frame_len, trailing = n, 0
  if declared ~= nil and n > declared then
    frame_len = declared
    if udp then trailing = n - declared end
  end
  local complete = declared ~= nil and frame_len == declared
  local sum = byte_sum(tvb, 0, frame_len)

  local opcode, reply, def, sub = nil, nil, nil, nil
  if n >= OFF_OPCODE + 2 then
    opcode = tvb(OFF_OPCODE, 2):uint()
    reply = bit32.band(opcode, REPLY_BIT) ~= 0
    def = opcode_def(opcode)
    root:add(F["${p}.reply"], reply):set_generated()
    root:add(F["${p}.name"], def and def.name or "Unknown"):set_generated()
  end
  if n >= OFF_SUB + 1 then
    sub = tvb(OFF_SUB, 1):uint()
    if reply then root:add(F["${p}.status"], tvb(OFF_SUB, 1)) end
    if not reply and def and def.subop_names[sub] then
      HEADER_FIELDS[${subIndex + 1}].item:append_text(" (" .. def.subop_names[sub] .. ")")
    end
  end
  local ck_item = root:add(F["${p}.checksum_ok"], sum == 0)
  ck_item:set_generated()

  -- Info column and the root item's text.
  local text
  if opcode == nil then
    text = "VVMP fragment (" .. n .. " bytes)"
  else
    text = (def and def.name or string.format("Unknown 0x%04x", opcode)) .. (reply and " Reply" or " Request")
    if reply and sub ~= nil then text = text .. " " .. status_name(sub) end
    if n >= OFF_TX + 4 then text = text .. " tx=" .. tvb(OFF_TX, 4):uint() end
  end
  if sum ~= 0 then text = text .. " [bad checksum]" end
  root:append_text(", " .. text)
  set_info(pinfo, text)

  if sum ~= 0 then
    local where = HEADER_FIELDS[${HEADER.fields.indexOf(fChecksum) + 1}].item or root
    where:append_text(" [incorrect]")
    where:add_proto_expert_info(E.checksum_bad, "frame bytes sum to " .. hex2(sum) .. ", not 0")
  elseif n >= HEADER_SIZE then
    HEADER_FIELDS[${HEADER.fields.indexOf(fChecksum) + 1}].item:append_text(" [correct]")
  end
  if n < HEADER_SIZE then
    root:add_proto_expert_info(E.frame_short, n .. " bytes, fewer than the 32-byte header")
    return
  end
  local length = tvb(OFF_LENGTH, 2):uint()
  if not complete then
    HEADER_FIELDS[${HEADER.fields.indexOf(fLength) + 1}].item:add_proto_expert_info(E.frame_truncated,
      "length " .. length .. " words asks for " .. declared .. " bytes, only " .. frame_len .. " present")
  end
  if trailing > 0 then
    local ti = root:add(F["${p}.trailing"], tvb(declared, trailing))
    ti:add_proto_expert_info(E.udp_trailing, trailing .. " bytes after the " .. declared .. "-byte frame in the datagram")
  end

  local op_item = HEADER_FIELDS[${HEADER.fields.indexOf(fOpcode) + 1}].item
  local sub_item = HEADER_FIELDS[${subIndex + 1}].item
  if not def then
    op_item:add_proto_expert_info(E.opcode_unknown, string.format("opcode 0x%04x is not defined", opcode))
  end
  if reply then
    if STATUSES[sub] == nil then
      sub_item:add_proto_expert_info(E.subop_invalid, "reply status " .. status_name(sub) .. " is not defined")
    end
    if sub == STATUS_PENDING then
      sub_item:add_proto_expert_info(E.status_pending, "PENDING: a second reply follows when storage frees up")
    elseif sub ~= STATUS_OK then
      sub_item:add_proto_expert_info(E.status_error, "reply status " .. status_name(sub))
    end
  elseif def and not def.subops[sub] then
    sub_item:add_proto_expert_info(E.subop_invalid, "sub-opcode " .. hex2(sub) .. " is not valid for " .. def.name)
  end

  local present = frame_len - HEADER_SIZE
  local function raw_payload()
    if present > 0 then root:add(F["${p}.payload"], tvb(HEADER_SIZE, present)) end
  end
  if not def then raw_payload() return end

  local payload_len = 4 * length
  local blk
  if reply then blk = def.reply else blk = def.request end
  local error_reply = reply and sub ~= STATUS_OK and sub ~= STATUS_PENDING
  if error_reply and payload_len == 0 then return end
  local what = def.name .. (reply and " reply" or " request")
  if blk == nil then
    if payload_len ~= 0 then
      root:add_proto_expert_info(E.payload_size, def.name .. " request carries no payload, got " .. payload_len .. " bytes")
      raw_payload()
    end
    return
  end
  local bad_size
  if blk.repeated then bad_size = payload_len % blk.size ~= 0 else bad_size = payload_len ~= blk.size end
  if bad_size then
    local want = blk.repeated and ("a multiple of " .. blk.size) or tostring(blk.size)
    root:add_proto_expert_info(E.payload_size, what .. " payload is " .. payload_len .. " bytes, expected " .. want)
    raw_payload()
    return
  end
  if not complete then raw_payload() return end

  local reported = false
  if blk.repeated then
    local count = payload_len / blk.size
    root:append_text(", " .. count .. (count == 1 and " device" or " devices"))
    for i = 1, count do
      local _
      _, reported = add_record(root, tvb, HEADER_SIZE + (i - 1) * blk.size, blk, i, reported)
    end
  else
    add_record(root, tvb, HEADER_SIZE, blk, nil, false)
    if blk.session_off then
      root:add(F["${p}.session_id"], tvb(HEADER_SIZE + blk.session_off, 2)):set_generated()
    end
  end
end

-- ---- transports ------------------------------------------------------------------------------------
local function tcp_pdu_len(tvb, pinfo, offset)
  return HEADER_SIZE + 4 * tvb(offset + OFF_LENGTH, 2):uint()
end

local function tcp_pdu(tvb, pinfo, tree)
  dissect_frame(tvb, pinfo, tree, false)
  return tvb:len()
end

function vvmp.dissector(tvb, pinfo, tree)
  if pinfo.port_type == PT_TCP then
    dissect_tcp_pdus(tvb, tree, HEADER_SIZE, tcp_pdu_len, tcp_pdu, true)
  else
    dissect_frame(tvb, pinfo, tree, true)
  end
  return tvb:len()
end

-- Heuristic test of src/protocol/decode.ts looksLikeVvmp: a known opcode, a fitting
-- sub-opcode or status, a size within the limit and the bytes present, a good checksum.
local function looks_like_vvmp(tvb)
  local avail = tvb:len()
  if avail < HEADER_SIZE then return false end
  local opcode = tvb(OFF_OPCODE, 2):uint()
  local def = opcode_def(opcode)
  if def == nil then return false end
  local sub = tvb(OFF_SUB, 1):uint()
  if bit32.band(opcode, REPLY_BIT) ~= 0 then
    if STATUSES[sub] == nil then return false end
  elseif not def.subops[sub] then
    return false
  end
  local size = HEADER_SIZE + 4 * tvb(OFF_LENGTH, 2):uint()
  if size - HEADER_SIZE > MAX_PAYLOAD or size > avail then return false end
  return byte_sum(tvb, 0, size) == 0
end

local function heur_udp(tvb, pinfo, tree)
  if not vvmp.prefs.heuristic or not looks_like_vvmp(tvb) then return false end
  dissect_frame(tvb, pinfo, tree, true)
  return true
end

local function heur_tcp(tvb, pinfo, tree)
  if not vvmp.prefs.heuristic or not looks_like_vvmp(tvb) then return false end
  pinfo.conversation = vvmp
  dissect_tcp_pdus(tvb, tree, HEADER_SIZE, tcp_pdu_len, tcp_pdu, true)
  return true
end

local registered_port = nil
local function register_port()
  local udp, tcp = DissectorTable.get("udp.port"), DissectorTable.get("tcp.port")
  if registered_port ~= nil then
    udp:remove(registered_port, vvmp)
    tcp:remove(registered_port, vvmp)
  end
  registered_port = vvmp.prefs.port
  if registered_port ~= 0 then
    udp:add(registered_port, vvmp)
    tcp:add(registered_port, vvmp)
  end
end

function vvmp.prefs_changed()
  if registered_port ~= vvmp.prefs.port then register_port() end
end

register_port()
vvmp:register_heuristic("udp", heur_udp)
vvmp:register_heuristic("tcp", heur_tcp)
`;
}
