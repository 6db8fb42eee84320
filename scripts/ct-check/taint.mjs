// Static constant-time checker for a WASM module: taint analysis over Binaryen IR.
//
// Secret: every value loaded from memory, and anything computed from one. Public: parameters of the
// checked exports, constants, globals (until a secret is stored in one), memory.size.
// A violation is a secret branch/select condition, a secret memory address (or bulk-memory length),
// a secret argument to a callee that then leaks it, a secret operand of a variable-latency op, or
// anything the checker does not understand ('unknown': fail closed).
//
// Per function, local taint is flow-sensitive over the structured IR (loops iterate to a fixpoint).
// Globals are flow-insensitive: once any function stores a secret in one, it is secret everywhere.
// Calls are summarised per (callee, secret-parameter mask); summaries and global taint are
// iterated module-wide until nothing changes (this also covers recursion).
import binaryen from "binaryen";
import { variableLatencyBinary, variableLatencyUnary, laneLoadOps } from "./ops.mjs";

const B = binaryen;

/**
 * @param {Uint8Array} wasmBytes
 * @param {string[]} functionNames export names (or internal function names)
 * @returns {{ fn: string, violations: { kind: 'branch'|'address'|'call'|'variable-latency'|'unknown', where: string }[] }[]}
 */
export function checkConstantTime(wasmBytes, functionNames) {
  const module = B.readBinaryWithFeatures(wasmBytes, B.Features.All);
  try {
    const analysis = new Analysis(module);
    const roots = functionNames.map((fn) => ({ fn, internal: analysis.resolve(fn) }));
    // Every defined function is analysed (the host may call exports in any order; a start function
    // runs first), so that a secret stored in a global anywhere taints it for all. Only
    // `functionNames` are reported.
    analysis.run([...analysis.functions].filter((n) => !analysis.info(n).module));
    return roots.map(({ fn, internal }) => ({
      fn,
      violations: internal === null
        ? [{ kind: "unknown", where: `${fn}: no such exported (non-imported) function` }]
        : [...analysis.summarise(internal, analysis.publicMask(internal)).violations]
          .map(([where, { kind }]) => ({ kind, where })),
    }));
  } finally {
    module.dispose();
  }
}

// Module-wide state: call summaries and global taint, iterated to a fixpoint.
class Analysis {
  constructor(module) {
    this.module = module;
    this.secretGlobals = new Set();
    this.summaries = new Map(); // "name|mask" -> { ret, violations: Map<where, { kind, origin }>, round }
    this.round = 0;
    this.ordinals = new Map();
    this.exportName = new Map(); // internal function name -> export name, for readable reports
    this.functions = new Set();
    for (let i = 0; i < module.getNumFunctions(); i++) {
      this.functions.add(B.getFunctionInfo(module.getFunctionByIndex(i)).name);
    }
    for (let i = 0; i < module.getNumExports(); i++) {
      const e = B.getExportInfo(module.getExportByIndex(i));
      if (e.kind === B.ExternalFunction && !this.exportName.has(e.value)) this.exportName.set(e.value, e.name);
    }
  }

  // Internal name of a defined (not imported) function, by export name or internal name.
  resolve(name) {
    let internal = this.functions.has(name) ? name : null;
    for (const [n, exported] of this.exportName) if (exported === name) internal = n;
    return internal !== null && !this.info(internal).module ? internal : null;
  }

  // A stable number for an expression within its function (first-visit order), for reports.
  ordinal(name, expr) {
    if (!this.ordinals.has(name)) this.ordinals.set(name, new Map());
    const m = this.ordinals.get(name);
    if (!m.has(expr)) m.set(expr, m.size + 1);
    return m.get(expr);
  }

  display(name) {
    return this.exportName.get(name) ?? `func $${name}`;
  }

  info(name) {
    return B.getFunctionInfo(this.module.getFunction(name));
  }

  publicMask(name) {
    return B.expandType(this.info(name).params).map(() => false);
  }

  run(roots) {
    do {
      this.changed = false;
      this.round++;
      for (const r of roots) this.summarise(r, this.publicMask(r));
    } while (this.changed);
  }

  // Summary of `name` called with the parameters marked secret in `mask`. Within a round each
  // summary is computed once; a recursive call sees the previous round's (still growing) summary.
  summarise(name, mask) {
    const key = `${name}|${mask.map(Number).join("")}`;
    let s = this.summaries.get(key);
    if (s && s.round === this.round) return s;
    if (!s) this.summaries.set(key, (s = { ret: false, violations: new Map(), round: this.round }));
    s.round = this.round;
    const { ret, violations } = new FunctionScan(this, name, mask).run();
    // Taint only grows, so a larger set or a newly secret result means another round is needed.
    if (ret && !s.ret) { s.ret = true; this.changed = true; }
    if (violations.size > s.violations.size) this.changed = true;
    s.violations = violations;
    return s;
  }

  taintGlobal(name) {
    if (!this.secretGlobals.has(name)) { this.secretGlobals.add(name); this.changed = true; }
  }
}

// One function under one parameter mask. Local taint is tracked flow-sensitively (Binaryen's -O3
// reuses locals, parameters included, for unrelated values): `state` holds one flag per local, or
// null in unreachable code; branches merge their state into their target label, loops iterate
// until the state at their head stops growing.
class FunctionScan {
  constructor(analysis, name, mask) {
    this.a = analysis;
    this.name = name;
    this.info = analysis.info(name);
    this.state = [...mask, ...this.info.vars.map(() => false)];
    this.labels = new Map(); // label -> { state: merged state of branches to it, value: a secret value is carried }
    this.ret = false;
    this.violations = new Map(); // where -> { kind, origin }
  }

  run() {
    const v = this.walk(this.info.body);
    this.ret ||= v;
    return { ret: this.ret, violations: this.violations };
  }

  branchTo(name, value) {
    const l = this.labels.get(name);
    if (!l) return; // cannot happen in valid IR
    l.state = join(l.state, this.state);
    l.value ||= value;
  }

  record(where, kind, origin = where) {
    if (!this.violations.has(where)) this.violations.set(where, { kind, origin });
  }

  flag(kind, what, expr) {
    this.record(`${this.a.display(this.name)}: ${what} (expr #${this.a.ordinal(this.name, expr)}): ${snippet(expr)}`, kind);
  }

  // A branch/select condition: flag if secret.
  cond(expr, what) {
    const t = this.walk(expr);
    if (t) this.flag("branch", `secret ${what} condition`, expr);
    return t;
  }

  // A memory address (or bulk-memory length): flag if secret.
  addr(expr, what) {
    const t = this.walk(expr);
    if (t) this.flag("address", `secret ${what}`, expr);
    return t;
  }

  // Returns whether the value of `e` is secret. Every operand is walked (no short-circuit).
  walk(e) {
    if (!e) return false;
    this.a.ordinal(this.name, e); // number expressions in visit order, for reports
    const x = B.getExpressionInfo(e);
    switch (x.id) {
      case B.ConstId: case B.NopId: case B.MemorySizeId: case B.DataDropId: case B.AtomicFenceId:
        return false;
      case B.UnreachableId:
        this.state = null;
        return false;
      case B.GlobalGetId:
        return this.a.secretGlobals.has(x.name);
      case B.GlobalSetId:
        if (this.walk(x.value)) this.a.taintGlobal(x.name);
        return false;
      case B.LocalGetId:
        return this.state !== null && this.state[x.index];
      case B.LocalSetId: {
        const t = this.walk(x.value);
        if (this.state) this.state[x.index] = t; // a strong update: the old value is gone
        return t; // the value of local.tee
      }
      case B.BlockId: {
        if (x.name) this.labels.set(x.name, { state: null, value: false });
        let t = false;
        for (const c of x.children) t = this.walk(c); // a block yields its last child...
        if (!x.name) return t;
        const l = this.labels.get(x.name); // ...or a value branched out to its label
        this.state = join(this.state, l.state);
        return t || l.value;
      }
      case B.LoopId: {
        let head = this.state && [...this.state];
        for (;;) {
          this.labels.set(x.name, { state: null, value: false });
          this.state = head && [...head];
          const v = this.walk(x.body);
          const next = join(head, this.labels.get(x.name).state); // merge the back edges
          if (same(next, head)) return v;
          head = next;
        }
      }
      case B.IfId: {
        const c = this.cond(x.condition, "if");
        const entry = this.state;
        this.state = entry && [...entry];
        const a = this.walk(x.ifTrue);
        const afterTrue = this.state;
        this.state = entry && [...entry];
        const b = this.walk(x.ifFalse);
        this.state = join(afterTrue, this.state);
        return c || a || b;
      }
      case B.BreakId: {
        const v = this.walk(x.value);
        if (x.condition) this.cond(x.condition, "br_if");
        this.branchTo(x.name, v);
        if (!x.condition) this.state = null;
        return v;
      }
      case B.SwitchId: {
        const v = this.walk(x.value);
        this.cond(x.condition, "br_table");
        for (const n of new Set([...x.names, x.defaultName])) this.branchTo(n, v);
        this.state = null;
        return false;
      }
      case B.SelectId: {
        const a = this.walk(x.ifTrue), b = this.walk(x.ifFalse);
        const c = this.cond(x.condition, "select");
        return a || b || c;
      }
      case B.DropId:
        this.walk(x.value);
        return false;
      case B.ReturnId:
        this.ret ||= this.walk(x.value);
        this.state = null;
        return false;
      case B.LoadId: case B.SIMDLoadId:
        this.addr(x.ptr, "load address");
        return true;
      case B.StoreId:
        this.addr(x.ptr, "store address");
        this.walk(x.value); // storing a secret is fine
        return false;
      case B.SIMDLoadStoreLaneId: {
        const load = laneLoadOps.has(x.op);
        this.addr(x.ptr, load ? "load-lane address" : "store-lane address");
        const v = this.walk(x.vec);
        return load || v;
      }
      case B.AtomicRMWId:
        this.addr(x.ptr, "atomic address");
        this.walk(x.value);
        return true;
      case B.AtomicCmpxchgId:
        this.addr(x.ptr, "atomic address");
        this.walk(x.expected);
        this.walk(x.replacement);
        return true;
      case B.UnaryId: {
        const t = this.walk(x.value);
        if (t && variableLatencyUnary.has(x.op)) this.flag("variable-latency", "secret operand of", e);
        return t;
      }
      case B.BinaryId: {
        const l = this.walk(x.left), r = this.walk(x.right);
        if ((l || r) && variableLatencyBinary.has(x.op)) this.flag("variable-latency", "secret operand of", e);
        return l || r;
      }
      case B.SIMDExtractId: // lane index is an immediate
        return this.walk(x.vec);
      case B.SIMDReplaceId: {
        const v = this.walk(x.vec), w = this.walk(x.value);
        return v || w;
      }
      case B.SIMDShuffleId: { // mask is an immediate
        const l = this.walk(x.left), r = this.walk(x.right);
        return l || r;
      }
      case B.SIMDTernaryId: {
        const a = this.walk(x.a), b = this.walk(x.b), c = this.walk(x.c);
        return a || b || c;
      }
      case B.SIMDShiftId: {
        const v = this.walk(x.vec), s = this.walk(x.shift);
        return v || s;
      }
      case B.MemoryCopyId:
        this.addr(x.dest, "memory.copy destination");
        this.addr(x.source, "memory.copy source");
        this.addr(x.size, "memory.copy length");
        return false;
      case B.MemoryFillId:
        this.addr(x.dest, "memory.fill destination");
        this.walk(x.value);
        this.addr(x.size, "memory.fill length");
        return false;
      case B.MemoryInitId:
        this.addr(x.dest, "memory.init destination");
        this.addr(x.offset, "memory.init offset");
        this.addr(x.size, "memory.init length");
        return false;
      case B.MemoryGrowId:
        return this.addr(x.delta, "memory.grow delta");
      case B.CallId:
        return this.call(x, e);
      case B.CallIndirectId: {
        for (const o of x.operands) this.walk(o);
        if (this.walk(x.target)) this.flag("call", "secret call_indirect index", x.target);
        this.flag("unknown", "call_indirect callee not analysed", e);
        return true;
      }
      default:
        this.flag("unknown", `unhandled expression (id ${x.id})`, e);
        return true;
    }
  }

  // A direct call: analyse the callee under the caller's argument taint and import its violations.
  // A callee violation that only appears because of a secret argument is reported as kind 'call'.
  call(x, e) {
    const args = x.operands.map((o) => this.walk(o));
    const secretArgs = args.flatMap((t, i) => (t ? [i] : []));
    const callee = this.a.info(x.target);
    let ret = false;
    if (callee.module) {
      // An import (host function): its body is not visible, so a secret argument is a violation.
      if (secretArgs.length) this.flag("call", `secret arg(s) ${secretArgs} to import ${callee.module}.${callee.base}`, e);
    } else {
      const s = this.a.summarise(x.target, args);
      const base = secretArgs.length ? this.a.summarise(x.target, args.map(() => false)) : s;
      for (const [where, { kind, origin }] of s.violations) {
        if (base.violations.has(where)) { this.record(where, kind, origin); continue; }
        // Keyed by the innermost origin, so recursion cannot build ever longer chains.
        this.record(
          `${this.a.display(this.name)}: call ${this.a.display(x.target)} with secret arg(s) ${secretArgs} → ${origin}`,
          kind === "unknown" ? "unknown" : "call", origin,
        );
      }
      ret = s.ret;
    }
    if (x.isReturn) { this.ret ||= ret; this.state = null; }
    return ret;
  }
}

// Merge of two local-taint states (null = unreachable).
function join(a, b) {
  if (!a) return b && [...b];
  if (!b) return [...a];
  return a.map((t, i) => t || b[i]);
}

function same(a, b) {
  if (!a || !b) return a === b;
  return a.every((t, i) => t === b[i]);
}

// One-line, shortened text of an expression for reports.
function snippet(expr) {
  const s = B.emitText(expr).replace(/\s+/g, " ").trim();
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
