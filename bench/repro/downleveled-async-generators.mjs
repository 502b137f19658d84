/**
 * Why a gRPC call through connect-es costs what it does: connect-es is compiled for ES2017, so
 * TypeScript turns every async generator into a call of its `__asyncGenerator` helper with a
 * generator function created anew per call. V8 gives each new generator function its own
 * prototype and initial map on first use, and maps live in old space and point back to the
 * function, so everything the call's closures hold survives scavenges until the next full GC.
 *
 * This runs the same two-call async iteration three ways and prints the time per iteration and
 * the garbage collector's work:
 *
 *   node bench/repro/downleveled-async-generators.mjs
 */
import { PerformanceObserver } from "node:perf_hooks";

// TypeScript's helpers for target ES2017, as in @connectrpc/connect's dist/esm, written out as
// statements: a generator drives the body, and a queue of pending next/throw/return calls.
function __await(v) {
  if (!(this instanceof __await)) return new __await(v);
  this.v = v;
}
function __asyncGenerator(thisArg, args, generator) {
  const g = generator.apply(thisArg, args || []);
  const q = [];
  const i = {};
  const verb = (n, wrap) => {
    if (!g[n]) return;
    i[n] = (v) => new Promise((a, b) => q.push([n, v, a, b]) > 1 || resume(n, v));
    if (wrap) i[n] = wrap(i[n]);
  };
  const resume = (n, v) => {
    try {
      step(g[n](v));
    } catch (e) {
      settle(q[0][3], e);
    }
  };
  const step = (r) => {
    if (r.value instanceof __await) Promise.resolve(r.value.v).then(fulfill, reject);
    else settle(q[0][2], r);
  };
  const fulfill = (value) => resume("next", value);
  const reject = (value) => resume("throw", value);
  const settle = (f, v) => {
    f(v);
    q.shift();
    if (q.length) resume(q[0][0], q[0][1]);
  };
  verb("next");
  verb("throw");
  verb("return", (f) => (v) => Promise.resolve(v).then(f, reject));
  i[Symbol.asyncIterator] = () => i;
  return i;
}

/** What connect-es ships: the generator function is created inside each call. */
function helperPerCall(source) {
  return __asyncGenerator(undefined, [], function* pass() {
    const it = source[Symbol.asyncIterator]();
    for (;;) {
      const r = yield __await(it.next());
      if (r.done) break;
      yield yield __await(r.value);
    }
  });
}
function helperSourcePerCall() {
  return __asyncGenerator(undefined, [], function* one() {
    yield yield __await(1);
  });
}

/** The same helper with its generator functions created once. */
const passBody = function* (source) {
  const it = source[Symbol.asyncIterator]();
  for (;;) {
    const r = yield __await(it.next());
    if (r.done) break;
    yield yield __await(r.value);
  }
};
const oneBody = function* () {
  yield yield __await(1);
};
const helperHoisted = (source) => __asyncGenerator(undefined, [source], passBody);
const helperSourceHoisted = () => __asyncGenerator(undefined, [], oneBody);

/** Native async generators, as target ES2018 or later would emit. */
async function* nativePass(source) {
  for await (const x of source) yield x;
}
async function* nativeOne() {
  yield 1;
}

const WAYS = {
  "helper, generator function per call (connect-es today)": () => helperPerCall(helperSourcePerCall()),
  "helper, generator function created once": () => helperHoisted(helperSourceHoisted()),
  "native async generators": () => nativePass(nativeOne()),
};

// GC entries arrive a little after the collections: each way waits for its own before the next.
let gcs = [];
new PerformanceObserver((list) => gcs.push(...list.getEntries())).observe({ entryTypes: ["gc"] });
const MINOR = 1;
const ITERATIONS = 300_000;

for (const [name, make] of Object.entries(WAYS)) {
  gcs = [];
  const started = performance.now();
  for (let n = 0; n < ITERATIONS; n++) {
    const it = make()[Symbol.asyncIterator]();
    await it.next();
    await it.next();
  }
  const ms = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const minor = gcs.filter((e) => e.detail?.kind === MINOR);
  const major = gcs.filter((e) => e.detail?.kind !== MINOR);
  const sum = (entries) => entries.reduce((total, e) => total + e.duration, 0);
  console.log(
    `${name}: ${((ms * 1000) / ITERATIONS).toFixed(2)} µs per iteration; ` +
      `scavenges ${minor.length} taking ${sum(minor).toFixed(0)} ms, full GCs ${major.length} taking ${sum(major).toFixed(0)} ms`,
  );
}
