-- Wireshark/TShark dissector for the MLS wire profile of tlslite_mls (docs/profile.md).
--
--   tshark -X lua_script:interop/wireshark/tlslite_mls.lua -r capture.pcapng \
--          -o tls.keylog_file:keys.log -d tcp.port==4433,tls
--
-- * TLS extension mode: the tls_using_mls_handshake extension (0xFF4D) in ClientHello
--   (KeyPackage) and ServerHello (Welcome), and in decrypted records the mls_handshake
--   messages (handshake type 224: TwoPartyMLSMessage). Runs after the TLS dissector and
--   reads its fields, so decryption is Wireshark's own (tls.keylog_file).
-- * MLS-TLS: "Decode As" mlstls on the port (-d tcp.port==4434,mlstls): records, the
--   plaintext TwoPartyMessage flights (client_hello, server_hello, resumption), and a
--   count of protected records (their keys come from MLS exporters, which no key log
--   label carries).
--
-- Code points are preferences: Edit > Preferences > Protocols > TLSMLS.

local tlsmls = Proto("tlsmls", "MLS in TLS (tlslite_mls)")
tlsmls.prefs.ext_type = Pref.uint("tls_using_mls_handshake", 0xFF4D, "TLS ExtensionType")
tlsmls.prefs.hs_type = Pref.uint("mls_handshake", 224, "TLS HandshakeType")
tlsmls.prefs.binding = Pref.uint("tls_binding", 0xF0A1, "MLS ExtensionType tls_binding")

local SUITES = {
  [1] = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
  [2] = "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
  [3] = "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
  [4] = "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
  [5] = "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
  [6] = "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
  [7] = "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
}
local WIRE_FORMATS = { [1] = "mls_public_message", [2] = "mls_private_message",
                       [3] = "mls_welcome", [4] = "mls_group_info", [5] = "mls_key_package" }
local TPMLSMT = { [1] = "connection_update", [2] = "epoch_key_update",
                  [3] = "resumption_request", [4] = "resumption_response" }
local MSG_TYPES = { [1] = "client_hello", [2] = "server_hello", [3] = "connection_update",
                    [4] = "epoch_key_update", [5] = "resumption_request",
                    [6] = "resumption_response" }
local CREDENTIALS = { [1] = "basic", [2] = "x509" }

local f = tlsmls.fields
f.object = ProtoField.string("tlsmls.object", "MLS object")
f.kp_version = ProtoField.uint16("tlsmls.kp.version", "KeyPackage version", base.HEX)
f.suite = ProtoField.uint16("tlsmls.suite", "MLS cipher suite", base.HEX, SUITES)
f.init_key = ProtoField.bytes("tlsmls.kp.init_key", "init_key")
f.enc_key = ProtoField.bytes("tlsmls.leaf.encryption_key", "leaf encryption_key")
f.sig_key = ProtoField.bytes("tlsmls.leaf.signature_key", "leaf signature_key")
f.cred_type = ProtoField.uint16("tlsmls.leaf.credential_type", "credential type", base.DEC,
                                CREDENTIALS)
f.identity = ProtoField.string("tlsmls.leaf.identity", "basic identity")
f.certs = ProtoField.uint32("tlsmls.leaf.certificates", "x509 certificates")
f.cap_suites = ProtoField.string("tlsmls.leaf.capabilities.cipher_suites",
                                 "capabilities: cipher suites")
f.cap_exts = ProtoField.string("tlsmls.leaf.capabilities.extensions",
                               "capabilities: extensions")
f.cap_creds = ProtoField.string("tlsmls.leaf.capabilities.credentials",
                                "capabilities: credentials")
f.leaf_exts = ProtoField.string("tlsmls.leaf.extensions", "leaf extensions")
f.binding = ProtoField.string("tlsmls.leaf.tls_binding", "tls_binding protocol")
f.secrets = ProtoField.uint32("tlsmls.welcome.secrets", "encrypted group secrets")
f.gi_len = ProtoField.uint32("tlsmls.welcome.encrypted_group_info_length",
                             "encrypted GroupInfo length")
f.tpmlsmt = ProtoField.uint16("tlsmls.msg.type", "TwoPartyMLSMessage type", base.DEC, TPMLSMT)
f.mt_type = ProtoField.uint16("tlsmls.mlstls.msg_type", "TwoPartyMessage msg_type",
                              base.DEC, MSG_TYPES)
f.marker_epoch = ProtoField.uint64("tlsmls.msg.marker_epoch", "epoch_key_update epoch")
f.wire_format = ProtoField.uint16("tlsmls.mls.wire_format", "MLSMessage wire format",
                                  base.DEC, WIRE_FORMATS)
f.epoch = ProtoField.uint64("tlsmls.mls.epoch", "MLSMessage epoch")
f.protected = ProtoField.uint32("tlsmls.mlstls.protected_length",
                                "protected record (MLS epoch keys)")

-- ---- RFC 9420 reading: a cursor over a TvbRange ---------------------------------------
local Cursor = {}
Cursor.__index = Cursor
local function cursor(range) return setmetatable({ r = range, pos = 0 }, Cursor) end
function Cursor:left() return self.r:len() - self.pos end
function Cursor:take(n)
  if n > self:left() then error("truncated") end
  local out = self.r(self.pos, n)
  self.pos = self.pos + n
  return out
end
function Cursor:u8() return self:take(1):uint() end
function Cursor:u16() return self:take(2):uint() end
function Cursor:u64() return self:take(8):uint64() end
function Cursor:varint()
  local first = self.r(self.pos, 1):uint()
  local prefix = bit.rshift(first, 6)
  local n = ({ [0] = 1, [1] = 2, [2] = 4 })[prefix]
  if n == nil then error("invalid varint") end
  local v = bit.band(self:take(1):uint(), 0x3F)
  for _ = 2, n do v = v * 256 + self:take(1):uint() end
  return v
end
function Cursor:vec()  -- opaque<V>: a TvbRange (nil when empty)
  local n = self:varint()
  if n == 0 then return nil, 0 end
  return self:take(n), n
end

local function u16_list(range)
  local out = {}
  if range == nil then return "" end
  for i = 0, range:len() - 2, 2 do out[#out + 1] = string.format("0x%04X", range(i, 2):uint()) end
  return table.concat(out, ",")
end

-- ---- MLS structures ----------------------------------------------------------------
local function leaf_node(c, tree)
  local r = c:vec(); if r then tree:add(f.enc_key, r) end
  r = c:vec(); if r then tree:add(f.sig_key, r) end
  local ctype_r = c:take(2)
  local ctype = ctype_r:uint()
  tree:add(f.cred_type, ctype_r)
  if ctype == 1 then
    local id = c:vec()
    if id then tree:add(f.identity, id, id:string()) end
  elseif ctype == 2 then
    local certs = c:vec()
    local n = 0
    if certs then
      local cc = cursor(certs)
      while cc:left() > 0 do cc:vec(); n = n + 1 end
      tree:add(f.certs, certs, n)
    end
  end
  local _ = c:vec()                                    -- capabilities.versions
  local suites = c:vec(); tree:add(f.cap_suites, suites or c.r(0, 0), u16_list(suites))
  local exts = c:vec(); tree:add(f.cap_exts, exts or c.r(0, 0), u16_list(exts))
  _ = c:vec()                                          -- capabilities.proposals
  local creds = c:vec(); tree:add(f.cap_creds, creds or c.r(0, 0), u16_list(creds))
  local source = c:u8()
  if source == 1 then c:u64(); c:u64() elseif source == 3 then c:vec() end
  local exts_r = c:vec()
  local types = {}
  if exts_r then
    local ec = cursor(exts_r)
    while ec:left() > 0 do
      local t = ec:u16()
      local data = ec:vec()
      types[#types + 1] = string.format("0x%04X", t)
      if t == tlsmls.prefs.binding and data then
        local inner = cursor(data):vec()
        if inner then tree:add(f.binding, inner, inner:string()) end
      end
    end
    tree:add(f.leaf_exts, exts_r, table.concat(types, ","))
  end
  c:vec()                                              -- signature
end

local function object(range, tree, name)  -- its subtree and a cursor at its start
  local t = tree:add(tlsmls, range, "MLS " .. name)
  t:add(f.object, range, name)
  return t, cursor(range)
end

local function key_package(range, tree)
  local t, c = object(range, tree, "KeyPackage")
  t:add(f.kp_version, c:take(2))
  t:add(f.suite, c:take(2))
  local init = c:vec(); if init then t:add(f.init_key, init) end
  leaf_node(c, t:add(range, "LeafNode"))
end

local function welcome(range, tree)
  local t, c = object(range, tree, "Welcome")
  t:add(f.suite, c:take(2))
  local secrets = c:vec()
  local n = 0
  if secrets then
    local sc = cursor(secrets)
    while sc:left() > 0 do sc:vec(); sc:vec(); sc:vec(); n = n + 1 end
  end
  t:add(f.secrets, secrets or range(0, 0), n)
  local _, gi_len = c:vec()
  t:add(f.gi_len, range, gi_len)
end

local function mls_message(range, tree)
  -- MLSMessage: version, wire_format, then the framed content (group_id, epoch, ...).
  local c = cursor(range)
  c:u16()
  local wf_r = c:take(2)
  local wf = wf_r:uint()
  tree:add(f.wire_format, wf_r)
  if wf == 1 or wf == 2 then
    c:vec()                                            -- group_id
    tree:add(f.epoch, c:take(8))
  elseif wf == 3 then
    welcome(range(4), tree)
  elseif wf == 5 then
    key_package(range(4), tree)
  end
end

-- Both modes' two-party messages: version mls10, a type, then a marker's epoch or an
-- MLSMessage. ``type_field`` and ``marker`` (the marker's type value) tell them apart.
local function two_party(range, t, type_field, marker)
  local c = cursor(range)
  c:u16()                                              -- version mls10
  local kind_r = c:take(2)
  t:add(type_field, kind_r)
  if kind_r:uint() == marker then
    t:add(f.marker_epoch, c:take(8))
  elseif c:left() > 0 then
    mls_message(range(c.pos), t)
  end
end

local function two_party_mls_message(range, tree)
  two_party(range, tree:add(tlsmls, range, "mls_handshake: TwoPartyMLSMessage"), f.tpmlsmt, 2)
end

-- ---- TLS extension mode: after the TLS dissector --------------------------------------
local f_ext_type = Field.new("tls.handshake.extension.type")
local f_hs_type = Field.new("tls.handshake.type")
local f_handshake = Field.new("tls.handshake")

local function safely(fn, range, tree)
  local ok, err = pcall(fn, range, tree)
  if not ok then tree:add_expert_info(PI_MALFORMED, PI_ERROR, "tlsmls: " .. tostring(err)) end
end

function tlsmls.dissector(tvb, pinfo, tree)
  for _, fi in ipairs({ f_ext_type() }) do
    if fi.value == tlsmls.prefs.ext_type then
      local src = fi.source
      local off = fi.offset
      local len = src(off + 2, 2):uint()
      local hs = 0
      -- The handshake type of the enclosing message: the nearest one before it.
      for _, h in ipairs({ f_hs_type() }) do
        if h.source == src and h.offset < off then hs = h.value end
      end
      if len > 0 then
        local body = src(off + 4, len)
        if hs == 1 then safely(key_package, body, tree)
        elseif hs == 2 then safely(welcome, body, tree) end
      end
    end
  end
  -- Wireshark does not know handshake type 224 and shows a decrypted record holding it
  -- as "Encrypted Handshake Message": walk the messages of every tls.handshake item.
  for _, h in ipairs({ f_handshake() }) do
    local src, pos, stop = h.source, h.offset, h.offset + h.len
    while pos + 4 <= stop do
      local htype = src(pos, 1):uint()
      local len = src(pos + 1, 3):uint()
      if pos + 4 + len > stop then break end
      if htype == tlsmls.prefs.hs_type and len > 0 then
        safely(two_party_mls_message, src(pos + 4, len), tree)
      end
      pos = pos + 4 + len
    end
  end
end
register_postdissector(tlsmls)

-- ---- MLS-TLS: its own record stream --------------------------------------------------
local mlstls = Proto("mlstls", "MLS-TLS (draft-kohbrok-mls-tls)")

local function two_party_message(range, tree)
  two_party(range, tree:add(range, "TwoPartyMessage"), f.mt_type, 4)
end

local function record_length(tvb, pinfo, offset) return 5 + tvb(offset + 3, 2):uint() end

local function record(tvb, pinfo, tree)
  pinfo.cols.protocol = "MLS-TLS"
  local ctype = tvb(0, 1):uint()
  local body = tvb(5, tvb(3, 2):uint())
  local t = tree:add(mlstls, tvb(), "MLS-TLS record")
  if ctype == 22 then
    safely(two_party_message, body, t)
  elseif ctype == 23 then
    t:add(f.protected, body, body:len())
  end
  return tvb:len()
end

function mlstls.dissector(tvb, pinfo, tree)
  dissect_tcp_pdus(tvb, tree, 5, record_length, record)
  return tvb:len()
end
DissectorTable.get("tcp.port"):add_for_decode_as(mlstls)
