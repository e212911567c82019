// JSON-lines driver for ts-mls, so the Python interop tests can use it as an MLS peer.
//
// One process holds one group member. Each line on stdin is one request
// {"id": N, "cmd": "...", ...}; each request gets exactly one line back on stdout,
// {"id": N, ...result} or {"id": N, "error": "..."}. A failing request never ends the
// process and never changes the member's state (ts-mls states are immutable, so the
// old state is simply kept). Binary values are hex; every MLS object crosses the
// boundary as full MLSMessage bytes, exactly as it would on the wire.
//
// stdout carries only protocol lines: anything ts-mls or Node prints goes to stderr.

import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import {
  acceptAll,
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteImpl,
  joinGroup,
  mlsExporter,
  processMessage,
} from "ts-mls";
import { getCiphersuiteFromId, getCiphersuiteNameFromId } from "ts-mls/crypto/ciphersuite.js";

const out = process.stdout;
console.log = console.error; // keep stdout for protocol lines only
console.info = console.error;
console.warn = console.error;

// 81-88: ts-mls's own post-quantum suites (see interop/tsmls_suites.py).
const SUITES = [1, 2, 3, 4, 5, 6, 7, 81, 82, 83, 84, 85, 86, 87, 88];
const PROTOCOL = 1;

function hex(bytes) {
  return Buffer.from(bytes).toString("hex");
}

function unhex(value, what) {
  if (typeof value !== "string" || !/^([0-9a-fA-F]{2})*$/.test(value)) {
    throw new Error(`${what}: expected a hex string`);
  }
  return new Uint8Array(Buffer.from(value, "hex"));
}

function utf8(bytes, what) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${what}: ts-mls takes labels as text, these bytes are not UTF-8`);
  }
}

function decodeMessage(bytes) {
  const decoded = decodeMlsMessage(bytes, 0);
  if (decoded === undefined) throw new Error("cannot decode MLSMessage");
  const [msg, used] = decoded;
  if (used !== bytes.length) throw new Error(`MLSMessage has ${bytes.length - used} trailing bytes`);
  return msg;
}

function encodeMessage(content) {
  return hex(encodeMlsMessage({ version: "mls10", ...content }));
}

async function loadSuite(id) {
  if (!SUITES.includes(id)) throw new Error(`cipher suite ${id} is not enabled in this driver`);
  return getCiphersuiteImpl(getCiphersuiteFromId(id));
}

async function newKeyPackage(identity, impl) {
  const credential = { credentialType: "basic", identity };
  return generateKeyPackage(credential, defaultCapabilities(), defaultLifetime, [], impl);
}

// The member this process plays. `pending` holds KeyPackages not yet used to join,
// newest last, together with their private keys.
const member = { suite: 0, impl: null, identity: null, state: null, pending: [] };

function needInit() {
  if (member.impl === null) throw new Error("init first");
}

function needGroup() {
  needInit();
  if (member.state === null) throw new Error("not in a group");
}

function epochOf(state) {
  return Number(state.groupContext.epoch);
}

async function exportSecret(state, impl, label, context, length) {
  return mlsExporter(state.keySchedule.exporterSecret, label, context, length, impl);
}

const handlers = {
  async hello() {
    return { protocol: PROTOCOL, suites: SUITES, ts_mls: "1.6.4" };
  },

  async init(req) {
    if (!Number.isInteger(req.suite)) throw new Error("init: suite must be an integer");
    const impl = await loadSuite(req.suite);
    member.suite = req.suite;
    member.impl = impl;
    member.identity = unhex(req.identity ?? "", "identity");
    member.state = null;
    member.pending = [];
    return { suite: req.suite, name: getCiphersuiteNameFromId(req.suite) };
  },

  async key_package() {
    needInit();
    const kp = await newKeyPackage(member.identity, member.impl);
    member.pending.push(kp);
    return { key_package: encodeMessage({ wireformat: "mls_key_package", keyPackage: kp.publicPackage }) };
  },

  async create_group(req) {
    needInit();
    const kp = await newKeyPackage(member.identity, member.impl);
    member.state = await createGroup(unhex(req.group_id, "group_id"), kp.publicPackage, kp.privatePackage, [], member.impl);
    return { epoch: epochOf(member.state) };
  },

  async add(req) {
    needGroup();
    const msg = decodeMessage(unhex(req.key_package, "key_package"));
    if (msg.wireformat !== "mls_key_package") throw new Error(`add: expected a KeyPackage, got ${msg.wireformat}`);
    const result = await createCommit(
      { state: member.state, cipherSuite: member.impl },
      {
        extraProposals: [{ proposalType: "add", add: { keyPackage: msg.keyPackage } }],
        ratchetTreeExtension: true,
        wireAsPublicMessage: req.public !== false,
      },
    );
    if (result.welcome === undefined) throw new Error("add: ts-mls produced no Welcome");
    member.state = result.newState;
    return {
      commit: hex(encodeMlsMessage(result.commit)),
      welcome: encodeMessage({ wireformat: "mls_welcome", welcome: result.welcome }),
      epoch: epochOf(member.state),
    };
  },

  async join(req) {
    needInit();
    const msg = decodeMessage(unhex(req.welcome, "welcome"));
    if (msg.wireformat !== "mls_welcome") throw new Error(`join: expected a Welcome, got ${msg.wireformat}`);
    if (member.pending.length === 0) throw new Error("join: no KeyPackage was generated");
    let lastError = null;
    // The Welcome names its KeyPackage by reference; trying the pending ones newest
    // first finds it without recomputing references here.
    for (let i = member.pending.length - 1; i >= 0; i--) {
      const kp = member.pending[i];
      try {
        member.state = await joinGroup(msg.welcome, kp.publicPackage, kp.privatePackage, emptyPskIndex, member.impl);
        member.pending.splice(i, 1);
        return { epoch: epochOf(member.state) };
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError;
  },

  async commit_update(req) {
    needGroup();
    const result = await createCommit(
      { state: member.state, cipherSuite: member.impl },
      { wireAsPublicMessage: req.public === true },
    );
    member.state = result.newState;
    return { commit: hex(encodeMlsMessage(result.commit)), epoch: epochOf(member.state) };
  },

  async process(req) {
    needGroup();
    const msg = decodeMessage(unhex(req.message, "message"));
    if (msg.wireformat !== "mls_public_message" && msg.wireformat !== "mls_private_message") {
      throw new Error(`process: expected a Public/PrivateMessage, got ${msg.wireformat}`);
    }
    const before = epochOf(member.state);
    const result = await processMessage(msg, member.state, emptyPskIndex, acceptAll, member.impl);
    if (result.kind === "applicationMessage") {
      member.state = result.newState;
      return { kind: "application", data: hex(result.message), epoch: before };
    }
    if (result.actionTaken !== "accept") throw new Error(`process: message was ${result.actionTaken}ed`);
    member.state = result.newState;
    const after = epochOf(member.state);
    return { kind: after > before ? "commit" : "proposal", epoch: after };
  },

  async protect(req) {
    needGroup();
    const data = unhex(req.data, "data");
    const result = await createApplicationMessage(member.state, data, member.impl);
    member.state = result.newState;
    return { message: encodeMessage({ wireformat: "mls_private_message", privateMessage: result.privateMessage }) };
  },

  async exporter(req) {
    needGroup();
    const label = utf8(unhex(req.label, "label"), "label");
    const length = req.length;
    if (!Number.isInteger(length) || length < 0 || length > 65535) throw new Error("exporter: bad length");
    const secret = await exportSecret(member.state, member.impl, label, unhex(req.context ?? "", "context"), length);
    return { secret: hex(secret) };
  },

  async epoch() {
    needGroup();
    return { epoch: epochOf(member.state) };
  },

  // n full two-party cycles timed inside Node, so the JSON-lines IPC is not counted:
  // KeyPackage -> create group + Add + Welcome -> join -> commit with UpdatePath -> process.
  async bench(req) {
    const n = req.n;
    if (!Number.isInteger(n) || n < 1 || n > 10000) throw new Error("bench: n must be 1..10000");
    const impl = await loadSuite(req.suite);
    const alice = new TextEncoder().encode("alice");
    const bob = new TextEncoder().encode("bob");
    const label = "TLS shared secret";
    const cycles = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const bobKp = await newKeyPackage(bob, impl);
      const aliceKp = await newKeyPackage(alice, impl);
      const gid = impl.rng.randomBytes(32);
      const created = await createGroup(gid, aliceKp.publicPackage, aliceKp.privatePackage, [], impl);
      const added = await createCommit(
        { state: created, cipherSuite: impl },
        {
          extraProposals: [{ proposalType: "add", add: { keyPackage: bobKp.publicPackage } }],
          ratchetTreeExtension: true,
        },
      );
      const welcomeBytes = encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: added.welcome });
      const welcome = decodeMessage(welcomeBytes).welcome;
      const bobState = await joinGroup(welcome, bobKp.publicPackage, bobKp.privatePackage, emptyPskIndex, impl);
      const update = await createCommit({ state: added.newState, cipherSuite: impl }, {});
      const commit = decodeMessage(encodeMlsMessage(update.commit));
      const processed = await processMessage(commit, bobState, emptyPskIndex, acceptAll, impl);
      const t1 = performance.now();
      if (processed.kind !== "newState" || epochOf(processed.newState) !== 2) throw new Error("bench: cycle failed");
      if (i === 0) {
        const a = await exportSecret(update.newState, impl, label, new Uint8Array(), 32);
        const b = await exportSecret(processed.newState, impl, label, new Uint8Array(), 32);
        if (hex(a) !== hex(b)) throw new Error("bench: exporter mismatch");
      }
      cycles.push((t1 - t0) / 1000);
    }
    return { cycles };
  },
};

function send(obj) {
  out.write(JSON.stringify(obj) + "\n");
}

function errorText(e) {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

async function handleLine(line) {
  if (line.trim() === "") return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    send({ id: null, error: `bad JSON request: ${errorText(e)}` });
    return;
  }
  const id = req !== null && typeof req === "object" ? req.id ?? null : null;
  try {
    const handler = typeof req?.cmd === "string" ? handlers[req.cmd] : undefined;
    if (handler === undefined || !Object.hasOwn(handlers, req.cmd)) throw new Error(`unknown command ${JSON.stringify(req?.cmd)}`);
    send({ id, ...(await handler(req)) });
  } catch (e) {
    send({ id, error: errorText(e) });
  }
}

// Requests are handled strictly one after another: the member's state is sequential.
let queue = Promise.resolve();
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  queue = queue.then(() => handleLine(line));
});
rl.on("close", () => {
  queue.then(() => process.exit(0));
});
process.on("uncaughtException", (e) => console.error("uncaught:", errorText(e)));
process.on("unhandledRejection", (e) => console.error("unhandled rejection:", errorText(e)));
