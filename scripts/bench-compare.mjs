#!/usr/bin/env node
// `pnpm bench:compare`: xinfer (CPU, WebGPU and reference executors) and llama.cpp (through
// tools/llama-server, node-llama-cpp) side by side, through the same OpenAI-compatible HTTP path,
// measured by `xinfer bench` and graded by `xinfer score`, on the same GGUF files: the demo model
// and two generated models with SmolLM-135M's shapes and the same random weights, one Q8_0 and one
// with the type mix llama.cpp's Q4_K_M gives those shapes. llama.cpp and xinfer's CPU executor run
// at the same thread count, at 1 thread and at all cores; each runtime also answers prompts of
// exactly 128 tokens, for time to first token. Writes the LoadTestResult files under
// bench-results/, prints the scorecards, draws docs/bench-compare.svg, and rewrites the generated
// part of BENCHMARKS.md and the ratios in README.md.
//
// `--quick`: the demo model only, fewer requests: for checking this script, not for numbers.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench-results');
const XINFER = join(ROOT, 'examples/cli/dist/bin.js');
const LLAMA = join(ROOT, 'tools/llama-server/dist/cli.js');
const started = Date.now();
const log = (line) => process.stderr.write(`bench:compare: ${line}\n`);

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const unknownArgs = args.filter((a) => a !== '--quick');
if (unknownArgs.length > 0) {
  log(`unknown argument(s) ${unknownArgs.join(' ')}; usage: bench-compare.mjs [--quick]`);
  process.exit(2);
}

const importDist = (pkg) => import(pathToFileURL(join(ROOT, pkg, 'dist/index.js')).href);
const { demoModelPath } = await importDist('packages/demo-model');
const model = await importDist('packages/model');
const { GgmlType, GgufValueType, gguf } = model;

/** The thread counts llama.cpp and xinfer's CPU executor are compared at: one, and all cores. */
const CORES = os.availableParallelism();
const THREADS = [...new Set([1, CORES])];

// ---------------------------------------------------------------------------------------------
// Models.

const SMOLLM_LAYERS = 30;

/** SmolLM-135M's shapes; `weightType` aside, every SmolLM-shaped file has the same weights. */
function smollmOptions(weightType) {
  const vocab = Array.from({ length: 49152 }, (_, i) => `tok${i}`);
  // A byte-level BPE needs every byte; the first 256 tokens are the GPT-2 byte alphabet.
  const bytes = [];
  for (let b = 0; b < 256; b++) bytes.push(String.fromCodePoint(gpt2Byte(b)));
  vocab.splice(0, 256, ...bytes);
  return {
    architecture: 'llama',
    tokenizer: {
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.pre': 'smollm',
      'tokenizer.ggml.tokens': vocab,
      'tokenizer.ggml.merges': [],
      'tokenizer.ggml.bos_token_id': 300,
      'tokenizer.ggml.eos_token_id': 301,
    },
    hiddenSize: 576,
    intermediateSize: 1536,
    numLayers: SMOLLM_LAYERS,
    numHeads: 9,
    numKvHeads: 3,
    contextLength: 2048,
    ropeTheta: 100000,
    tieWordEmbeddings: true,
    weightType,
    seed: 3,
  };
}

/** GPT-2's byte-to-unicode map. */
function gpt2Byte(b) {
  const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  if (printable) return b;
  let n = 0;
  for (let i = 0; i < b; i++) {
    const p = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255);
    if (!p) n++;
  }
  return 256 + n;
}

/** Writes `chunks` to `file` through a temporary name, so an interrupted run leaves no half file. */
async function writeOnce(file, chunks) {
  mkdirSync(dirname(file), { recursive: true });
  await model.writeFileChunks(`${file}.partial`, chunks);
  renameSync(`${file}.partial`, file);
}

/** SmolLM-135M's shapes with random Q8_0 weights, generated once into the results folder. */
async function smollmQ8_0() {
  const file = join(OUT, 'smollm-135m-shapes-q8_0.gguf');
  if (!existsSync(file)) {
    log(`writing ${file} (once)`);
    await writeOnce(file, model.syntheticGguf(smollmOptions(GgmlType.Q8_0)));
  }
  return file;
}

/** The layers llama.cpp's Q4_K_M gives more bits (`use_more_bits` in llama-quant.cpp). */
const moreBits = (i, n) =>
  i < Math.floor(n / 8) || i >= Math.floor((7 * n) / 8) || (i - Math.floor(n / 8)) % 3 === 2;
const MORE_BITS_LAYERS = Array.from({ length: SMOLLM_LAYERS }, (_, i) => i).filter((i) =>
  moreBits(i, SMOLLM_LAYERS),
);

/**
 * The type llama.cpp's Q4_K_M (llama-quant.cpp's `llama_tensor_get_type`) gives matrix `name`
 * with rows of `cols` values: Q4_K, with Q6_K for attn_v and ffn_down in the {@link moreBits}
 * layers, and the tied token embedding quantized as the output (Q6_K). K-quants need rows of a
 * multiple of 256 values, so on SmolLM-135M's shapes only ffn_down (1536) keeps them; 576-value
 * rows fall back, Q4_K to Q5_0 and Q6_K to Q8_0.
 */
function q4kmType(name, cols) {
  let type = GgmlType.Q4_K;
  const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1]);
  if (name === 'token_embd.weight' || name === 'output.weight') type = GgmlType.Q6_K;
  else if (/\.(attn_v|ffn_down)\.weight$/.test(name) && moreBits(layer, SMOLLM_LAYERS)) {
    type = GgmlType.Q6_K;
  }
  if (cols % 256 !== 0) type = type === GgmlType.Q6_K ? GgmlType.Q8_0 : GgmlType.Q5_0;
  return type;
}

/**
 * The same random weights as {@link smollmQ8_0}, quantized per tensor as llama.cpp's Q4_K_M
 * quantizes SmolLM-135M ({@link q4kmType}). `syntheticGguf` takes one type for every matrix, so
 * the model is written in F32 and each matrix quantized from it; metadata is copied over.
 */
async function smollmQ4_K_M() {
  const file = join(OUT, 'smollm-135m-shapes-q4_k_m.gguf');
  if (existsSync(file)) return file;
  log(`writing ${file} (once, about half a minute)`);
  const f32 = Buffer.concat(model.syntheticGguf(smollmOptions(GgmlType.F32)));
  const index = await model.readGgufIndex(model.bytesSource(f32, file));
  const metadata = {};
  for (const [key, value] of Object.entries(index.metadata)) {
    const type = index.metadataTypes[key];
    // The reader keeps no element types; this file's arrays are the tokens and the (no) merges.
    metadata[key] =
      type === GgufValueType.ARRAY
        ? gguf.array(
            value.every((v) => typeof v === 'string') ? GgufValueType.STRING : GgufValueType.INT32,
            value,
          )
        : { type, value };
  }
  metadata['general.file_type'] = gguf.u32(15); // LLAMA_FTYPE_MOSTLY_Q4_K_M
  const tensors = [];
  for (const info of index.tensors.values()) {
    if (info.type !== GgmlType.F32) throw new Error(`${info.name}: expected F32`);
    const values = new Float32Array(f32.buffer, f32.byteOffset + info.offset, info.byteLength / 4);
    const type = info.shape.length === 2 ? q4kmType(info.name, info.shape[0]) : GgmlType.F32;
    tensors.push({ name: info.name, type, shape: info.shape, data: model.quantize(type, values) });
  }
  await writeOnce(file, model.encodeGguf({ metadata, tensors }));
  return file;
}

const Q4_K_M_MIX =
  `llama.cpp's Q4_K_M mix for these shapes: ffn_down Q4_K (Q6_K in ${MORE_BITS_LAYERS.length} of ` +
  `${SMOLLM_LAYERS} layers), attn_v Q5_0 (Q8_0 in the same ${MORE_BITS_LAYERS.length}), ` +
  'attn_q/attn_k/attn_output/ffn_gate/ffn_up Q5_0 (576-column rows: K-quants fall back), ' +
  'token_embd = tied output Q8_0';

// ---------------------------------------------------------------------------------------------
// Runtimes.

const llamaCpp = (n) => ({
  name: `llama.cpp ×${n}`,
  family: 'llama.cpp',
  threads: n,
  command: [LLAMA, '--sequences', '8', '--threads', String(n)],
});
const xinferCpu = (n) => ({
  name: `xinfer-cpu ×${n}`,
  family: 'xinfer-cpu',
  threads: n,
  command: [XINFER, 'serve', '--executor', 'cpu', '--threads', String(n)],
});
const SAME_THREADS = THREADS.flatMap((n) => [llamaCpp(n), xinferCpu(n)]);
const WEBGPU = {
  name: 'xinfer-webgpu',
  family: 'xinfer-webgpu',
  command: [XINFER, 'serve', '--executor', 'webgpu'],
};
const REFERENCE = {
  name: 'xinfer-reference',
  family: 'xinfer-reference',
  command: [XINFER, 'serve', '--executor', 'reference'],
};
/** What a runtime's ratios are taken against: llama.cpp at its thread count, else at all cores. */
const baselineOf = (rt) => llamaCpp(rt.threads ?? CORES).name;
const threadsOf = (rt) => (rt.threads === undefined ? '–' : String(rt.threads));

/** Tokens of the prompts the time-to-first-token runs send. */
const TTFT_PROMPT_TOKENS = 128;
/** max_tokens of those runs: only the first token is timed. */
const TTFT_MAX_TOKENS = 8;

const ALL_MODELS = [
  {
    key: 'demo',
    label: 'the demo model (kjv-demo-5.6M-Q8_0, 6 layers × 256)',
    path: async () => demoModelPath,
    runtimes: [...SAME_THREADS, WEBGPU, REFERENCE],
    maxTokens: 64,
    load: { c1: 4, c8: 16, ttft: 3 },
  },
  {
    key: 'smollm-135m-shapes-q8_0',
    label: 'SmolLM-135M shapes, random weights, Q8_0 (30 layers × 576, vocabulary 49152)',
    path: smollmQ8_0,
    runtimes: [...SAME_THREADS, WEBGPU],
    maxTokens: 32,
    load: { c1: 4, c8: 16, ttft: 4 },
    // xinfer-webgpu makes 1 to 4 tok/s here on a software adapter: the fewest requests that
    // still fill c=8 (about 2 minutes a model on llvmpipe, 2 cores).
    slowLoad: { c1: 1, c8: 8, ttft: 1 },
    targets: { decode: 1.0, aggregate: 1.5, ttft: 2, memory: 1.2 },
  },
  {
    key: 'smollm-135m-shapes-q4_k_m',
    label: `SmolLM-135M shapes, the same random weights, ${Q4_K_M_MIX}`,
    path: smollmQ4_K_M,
    runtimes: [...SAME_THREADS, WEBGPU],
    maxTokens: 32,
    load: { c1: 4, c8: 16, ttft: 4 },
    // xinfer-webgpu makes 1 to 4 tok/s here on a software adapter: the fewest requests that
    // still fill c=8 (about 2 minutes a model on llvmpipe, 2 cores).
    slowLoad: { c1: 1, c8: 8, ttft: 1 },
    targets: { decode: 0.8, ttft: 2 },
  },
];
const MODELS = QUICK
  ? [{ ...ALL_MODELS[0], maxTokens: 32, load: { c1: 2, c8: 8, ttft: 2 } }]
  : ALL_MODELS;
/** Requests of each run of `rt` on `m`. */
const loadOf = (m, rt) => (rt === WEBGPU || rt === REFERENCE ? (m.slowLoad ?? m.load) : m.load);
/** The requests of every model, for the generated text. */
const loadWords = (l) =>
  `${l.c1} at c=1, ${l.c8} at c=8, ${l.ttft} for TTFT(${TTFT_PROMPT_TOKENS})`;
for (const m of MODELS) {
  m.file = await m.path();
  m.fileMiB = statSync(m.file).size / 2 ** 20;
  const source = await model.fileSource(m.file);
  try {
    m.config = model.configFromGguf(await model.readGgufIndex(source));
  } finally {
    await source.close?.();
  }
}
const RUNTIMES = [...SAME_THREADS, WEBGPU, REFERENCE].filter((rt) =>
  MODELS.some((m) => m.runtimes.includes(rt)),
);

// ---------------------------------------------------------------------------------------------
// Prompts of exactly 128 tokens, for time to first token.

const PASSAGE = [
  'The harbour wakes before the town does, and the first boats slip out while the lamps still burn.',
  'A baker on the corner lifts the shutters and the smell of bread drifts down towards the water.',
  'Gulls argue over the nets that were left to dry on the stone wall during the night.',
  'By seven the market square is full of carts, crates of apples, and people talking about the weather.',
  'An old clock above the post office has run five minutes slow for as long as anyone remembers.',
  'Children cross the bridge on their way to school, counting the ships that wait in the bay.',
  'In the afternoon the wind turns, the tide comes in, and the fishing fleet returns one boat at a time.',
  'When evening falls the lighthouse begins to turn, and its beam sweeps slowly over the dark sea.',
];

/**
 * `count` prompts of exactly `tokens` tokens as `m`'s tokenizer counts them (BOS included where its
 * vocabulary adds one; the servers render a lone message as its trimmed text), each starting at a
 * different sentence, so that no prompt shares a prefix with another (xinfer reuses the KV blocks
 * of shared prefixes; tools/llama-server clears its sequences).
 */
async function exactPrompts(m, count, tokens) {
  const source = await model.fileSource(m.file);
  let tokenizer;
  try {
    tokenizer = model.Tokenizer.fromGguf((await model.readGgufIndex(source)).metadata, m.file);
  } finally {
    await source.close();
  }
  return Array.from({ length: count }, (_, i) => {
    const text = [...PASSAGE.slice(i % PASSAGE.length), ...PASSAGE, ...PASSAGE].join(' ');
    // Grow the text a character at a time until it is `tokens` tokens long.
    for (let end = 1; end <= text.length; end++) {
      const prefix = text.slice(0, end);
      if (prefix !== prefix.trim()) continue;
      const n = tokenizer.encode(prefix).length;
      if (n === tokens) return prefix;
      if (n > tokens + 4) break;
    }
    throw new Error(`${m.key}: no prefix of the passage is ${tokens} tokens long`);
  });
}

// ---------------------------------------------------------------------------------------------
// Servers and runs.

/** Starts a server and resolves with its base URL and model id once it says it is serving. */
function startServer(command, modelPath) {
  const child = spawn(process.execPath, [...command, '--model', modelPath, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command.join(' ')} did not start in 120 s:\n${stderr}`));
    }, 120_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const ready = /serving (\S+) at (http:\/\/\S+?)\/v1/.exec(stderr);
      if (ready) {
        clearTimeout(timer);
        resolvePromise({ child, id: ready[1], url: `${ready[2]}/v1`, stderr: () => stderr });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command.join(' ')} exited with ${code}:\n${stderr}`));
    });
  });
}

async function stopServer(server) {
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await exited;
}

/** The runs of `rt` on `m`: c=1 and c=8 on the built-in prompts, then TTFT(128). */
function runsOf(m, rt, promptsFile) {
  const load = loadOf(m, rt);
  return [
    { key: 'c1', concurrency: 1, requests: load.c1, maxTokens: m.maxTokens },
    { key: 'c8', concurrency: 8, requests: load.c8, maxTokens: m.maxTokens },
    {
      key: 'p128',
      concurrency: 1,
      requests: load.ttft,
      maxTokens: TTFT_MAX_TOKENS,
      prompts: promptsFile,
    },
  ];
}

/** A process's resident memory now and at its peak, in MiB, from Linux's /proc (else {}). */
function residentOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
  } catch {
    return {};
  }
}

/**
 * MiB of the KV pool an xinfer server sized (its log line, at f32 K/V, the default), from the
 * model's layers and KV heads; undefined for llama.cpp (its cache is its own).
 */
function kvPoolOf(m, server) {
  const sized = /KV cache (\d+) blocks × (\d+) tokens/.exec(server.stderr());
  if (!sized) return undefined;
  const c = m.config;
  return (
    (Number(sized[1]) * Number(sized[2]) * 2 * c.numLayers * c.numKvHeads * c.headDim * 4) / 2 ** 20
  );
}

const fileKey = (rt) => rt.name.replace(' ×', '-t');
const memory = []; // { model, runtime, rss, peak, pool }: each server after its runs
const results = []; // { model, runtime, run, file, result }
const problems = []; // what could not be measured, for the generated text
mkdirSync(OUT, { recursive: true });
for (const m of MODELS) {
  const promptsFile = join(OUT, m.key, `prompts-${TTFT_PROMPT_TOKENS}.jsonl`);
  mkdirSync(dirname(promptsFile), { recursive: true });
  const count = Math.max(...m.runtimes.map((rt) => loadOf(m, rt).ttft));
  const prompts = await exactPrompts(m, count, TTFT_PROMPT_TOKENS);
  writeFileSync(promptsFile, prompts.map((prompt) => `${JSON.stringify({ prompt })}\n`).join(''));
  for (const rt of m.runtimes) {
    log(`${m.key}: starting ${rt.name}`);
    let server;
    try {
      server = await startServer(rt.command, m.file);
    } catch (error) {
      const reason = `${m.key}: ${rt.name} did not start: ${error.message.split('\n')[0]}`;
      log(`${reason}\n${error.message}`);
      problems.push(reason);
      continue;
    }
    try {
      for (const r of runsOf(m, rt, promptsFile)) {
        const file = join(OUT, m.key, `${fileKey(rt)}-${r.key}.json`);
        try {
          const { stdout } = await run(process.execPath, [
            XINFER,
            'bench',
            '--url',
            server.url,
            '--model',
            server.id,
            '--runtime-name',
            rt.name,
            '--out',
            file,
            '--concurrency',
            String(r.concurrency),
            '--requests',
            String(r.requests),
            '--max-tokens',
            String(r.maxTokens),
            '--timeout',
            '600',
            ...(r.prompts ? ['--prompts', r.prompts] : []),
          ]);
          log(`${m.key}: ${r.key}: ${stdout.trim()}`);
          results.push({
            model: m,
            runtime: rt,
            run: r.key,
            file,
            result: JSON.parse(readFileSync(file, 'utf8')),
          });
        } catch (error) {
          const reason = `${m.key}: ${rt.name}: ${r.key} failed: ${error.message.split('\n')[0]}`;
          log(`${reason}\n${error.stderr ?? ''}`);
          problems.push(reason);
        }
      }
      memory.push({
        model: m,
        runtime: rt,
        ...residentOf(server.child.pid),
        pool: kvPoolOf(m, server),
      });
    } finally {
      await stopServer(server);
    }
  }
}

// Scorecards, through `xinfer score`.
const cards = [];
for (const m of MODELS) {
  const files = (key) => results.filter((r) => r.model === m && r.run === key).map((r) => r.file);
  if (files('c1').length === 0 || files('c8').length === 0) continue;
  for (const [title, args] of [
    ['interactive (c=1)', files('c1')],
    ['throughput (c=8)', [...files('c8'), '--c1', ...files('c1')]],
    ['concurrency scaling', [...files('c8'), '--c1', ...files('c1'), '--card', 'scaling']],
  ]) {
    const table = (await run(process.execPath, [XINFER, 'score', ...args])).stdout;
    const markdown = (
      await run(process.execPath, [XINFER, 'score', ...args, '--format', 'markdown'])
    ).stdout;
    process.stdout.write(`\n${m.label}: ${title}\n${table}`);
    cards.push({ model: m, title, markdown });
  }
}

// The environment.
const { stdout: gpuJson } = await run(process.execPath, [XINFER, 'gpu', '--json']).catch(() => ({
  stdout: '{}',
}));
const gpu = JSON.parse(gpuJson);
const adapter = gpu.adapter
  ? [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description]
      .filter(Boolean)
      .join(' / ')
  : 'none';
const version = (path) => {
  try {
    return JSON.parse(readFileSync(join(ROOT, path), 'utf8')).version;
  } catch {
    return 'unknown';
  }
};
const machine = {
  cpu: `${os.cpus()[0]?.model ?? 'unknown'} × ${os.availableParallelism()}`,
  memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  os: `${os.type()} ${os.release()}`,
  node: process.version,
  adapter,
  nodeLlamaCpp: version('tools/llama-server/node_modules/node-llama-cpp/package.json'),
  xinfer: version('packages/engine/package.json'),
};

// The table and the ratios. Every ratio is against llama.cpp at the runtime's thread count
// (xinfer-webgpu and xinfer-reference, which have none: llama.cpp at all cores).
const get = (m, name, key) =>
  results.find((r) => r.model === m && r.runtime.name === name && r.run === key)?.result;
const fmt = (x, digits = 1) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
/** `value` and whether it meets `target` (at least it, or, with `atMost`, at most it). */
const against = (value, target, atMost = false) => {
  if (target === undefined || !Number.isFinite(value)) return fmt(value, 2);
  const met = atMost ? value <= target : value >= target;
  return `${fmt(value, 2)} (target ${atMost ? '≤' : '≥'} ${target.toFixed(1)}: ${met ? 'met' : 'not met'})`;
};
/** xinfer ÷ llama.cpp: decode at c=1, aggregate at c=8 (higher is better), TTFT(128) (lower is). */
function ratiosOf(m, rt) {
  const base = baselineOf(rt);
  return {
    base,
    decode: get(m, rt.name, 'c1')?.decode_tok_per_sec / get(m, base, 'c1')?.decode_tok_per_sec,
    aggregate: get(m, rt.name, 'c8')?.tokens_per_sec / get(m, base, 'c8')?.tokens_per_sec,
    ttft: get(m, rt.name, 'p128')?.ttft_p50_ms / get(m, base, 'p128')?.ttft_p50_ms,
  };
}
const rows = [];
const ratios = [];
const promptTokens = [];
for (const m of MODELS) {
  const seen = new Map(); // prompt tokens per request as each server counted them → runtimes
  for (const rt of m.runtimes) {
    const r1 = get(m, rt.name, 'c1');
    const r8 = get(m, rt.name, 'c8');
    const p = get(m, rt.name, 'p128');
    const q = ratiosOf(m, rt);
    const self = rt.name === q.base;
    rows.push(
      `| ${m.key} | ${rt.name} | ${threadsOf(rt)} | ${fmt(r1?.decode_tok_per_sec)} | ${fmt(r1?.ttft_p50_ms, 0)} | ` +
        `${fmt(r8?.tokens_per_sec)} | ${fmt(r8?.ttft_p50_ms, 0)} | ${fmt(p?.ttft_p50_ms, 0)} | ` +
        `${self ? '1' : fmt(q.decode, 2)} | ${self ? '1' : fmt(q.aggregate, 2)} | ${self ? '1' : fmt(q.ttft, 2)} | ` +
        `${(r1?.failed ?? 0) + (r8?.failed ?? 0) + (p?.failed ?? 0)} |`,
    );
    if (rt.family !== 'llama.cpp') {
      const t = rt.family === 'xinfer-cpu' ? (m.targets ?? {}) : {};
      ratios.push(
        `| ${m.key} | ${rt.name} | ${q.base} | ${against(q.decode, t.decode)} | ` +
          `${against(q.aggregate, t.aggregate)} | ${against(q.ttft, t.ttft, true)} |`,
      );
    }
    if (p && p.successful > 0) {
      const n = Math.round(p.prompt_tokens_total / p.successful);
      seen.set(n, [...(seen.get(n) ?? []), rt.name]);
    }
  }
  promptTokens.push(
    seen.size === 1
      ? `${[...seen.keys()][0]} (${m.key}, every runtime)`
      : `${[...seen].map(([n, names]) => `${n} (${m.key}: ${names.join(', ')})`).join(', ') || `– (${m.key})`}`,
  );
}
/** Models on which llama.cpp at all cores decodes slower than at one thread. */
const slowerAtAllCores = MODELS.filter(
  (m) =>
    CORES > 1 &&
    get(m, llamaCpp(CORES).name, 'c1')?.decode_tok_per_sec <
      get(m, llamaCpp(1).name, 'c1')?.decode_tok_per_sec,
).map((m) => m.key);
// Resident memory of each server after its runs, against the file and the KV pool it sized.
const memoryRows = memory.map(({ model: m, runtime: rt, rss, peak, pool }) => {
  const whole = pool === undefined ? undefined : rss / (m.fileMiB + pool);
  const t = rt.family === 'xinfer-cpu' ? m.targets?.memory : undefined;
  return (
    `| ${m.key} | ${rt.name} | ${fmt(m.fileMiB, 0)} | ${fmt(pool, 0)} | ${fmt(rss, 0)} | ` +
    `${fmt(peak, 0)} | ${against(whole, t, true)} | ${fmt(rss / m.fileMiB, 2)} |`
  );
});
const minutes = (Date.now() - started) / 60_000;
const date = new Date().toISOString().slice(0, 10);

// The chart: aggregate tok/s by concurrency, one panel per model, one bar per runtime.
writeFileSync(join(ROOT, 'docs/bench-compare.svg'), chart());
function chart() {
  // Grey for llama.cpp, green for xinfer's CPU executor: light at 1 thread, dark at all cores.
  const colors = {
    'llama.cpp': ['#9ca3af', '#4b5563'],
    'xinfer-cpu': ['#86efac', '#15803d'],
    'xinfer-webgpu': ['#2563eb'],
    'xinfer-reference': ['#f59e0b'],
  };
  const colorOf = (rt) => {
    const shades = colors[rt.family];
    return shades[rt.threads === undefined || rt.threads === 1 ? 0 : shades.length - 1];
  };
  const panelW = 360;
  const panelH = 220;
  const legendW = 150;
  const pad = { left: 56, top: 40, bottom: 44 };
  const width = Math.max(
    MODELS.length * (panelW + pad.left) + 20,
    pad.left + RUNTIMES.length * legendW,
  );
  const height = panelH + pad.top + pad.bottom + 40;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  MODELS.forEach((m, i) => {
    const x0 = i * (panelW + pad.left) + pad.left;
    const values = results
      .filter((r) => r.model === m && r.run !== 'p128')
      .map((r) => r.result.tokens_per_sec);
    const max = Math.max(1, ...values) * 1.1;
    const y = (v) => pad.top + panelH - (v / max) * panelH;
    parts.push(
      `<text x="${x0}" y="20" font-weight="bold">${xmlEscape(m.key)}: aggregate tok/s</text>`,
    );
    parts.push(
      `<line x1="${x0}" y1="${pad.top}" x2="${x0}" y2="${pad.top + panelH}" stroke="#999"/>`,
    );
    parts.push(
      `<line x1="${x0}" y1="${pad.top + panelH}" x2="${x0 + panelW}" y2="${pad.top + panelH}" stroke="#999"/>`,
    );
    for (let t = 0; t <= 4; t++) {
      const v = (max / 4) * t;
      parts.push(
        `<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${fmt(v, v < 10 ? 1 : 0)}</text>`,
      );
    }
    const groups = ['c1', 'c8'];
    const groupW = panelW / groups.length;
    const barW = (groupW - 30) / m.runtimes.length;
    groups.forEach((key, gi) => {
      const gx = x0 + gi * groupW + 15;
      m.runtimes.forEach((rt, ri) => {
        const v = get(m, rt.name, key)?.tokens_per_sec ?? 0;
        const bx = gx + ri * barW;
        parts.push(
          `<rect x="${bx}" y="${y(v)}" width="${barW - 4}" height="${pad.top + panelH - y(v)}" fill="${colorOf(rt)}"/>`,
        );
        parts.push(
          `<text x="${bx + (barW - 4) / 2}" y="${y(v) - 4}" text-anchor="middle" font-size="9">${fmt(v, v < 100 ? 1 : 0)}</text>`,
        );
      });
      parts.push(
        `<text x="${gx + (groupW - 30) / 2}" y="${pad.top + panelH + 16}" text-anchor="middle">c=${key.slice(1)}</text>`,
      );
    });
  });
  RUNTIMES.forEach((rt, ri) => {
    const lx = pad.left + ri * legendW;
    const ly = height - 16;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${colorOf(rt)}"/>`);
    parts.push(`<text x="${lx + 18}" y="${ly}">${xmlEscape(rt.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
function xmlEscape(s) {
  return String(s).replace(
    /[&<>"]/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch],
  );
}

// BENCHMARKS.md: the generated part between the markers; the reading around it is written by hand.
const threadWords = THREADS.map((n) => (n === CORES ? `${n} (all cores)` : String(n))).join(
  ' and ',
);
const ratioTable = `| model | runtime | against | decode tok/s at c=1 (xinfer ÷ llama.cpp, higher is better) | aggregate tok/s at c=8 (xinfer ÷ llama.cpp, higher is better) | TTFT p50, 128-token prompt (xinfer ÷ llama.cpp, lower is better) |
| --- | --- | --- | --- | --- | --- |
${ratios.join('\n')}`;
const generated = `<!-- bench:compare:start (written by pnpm bench:compare; edit outside the markers) -->
Latest run: ${date}, \`pnpm bench:compare${QUICK ? ' --quick' : ''}\`, ${fmt(minutes)} minutes.${QUICK ? ' **A --quick run (the demo model only, few requests): it checks the script; its numbers are not a measurement.**' : ''}

| | |
| --- | --- |
| CPU | ${machine.cpu} |
| memory | ${machine.memory} |
| OS | ${machine.os} |
| Node | ${machine.node} |
| WebGPU adapter | ${machine.adapter} |
| llama.cpp | node-llama-cpp ${machine.nodeLlamaCpp} (CPU build) |
| xinfer | ${machine.xinfer} (this commit) |
| threads | ${threadWords}: \`os.availableParallelism()\` is ${CORES} |

Runtimes: \`llama.cpp ×N\` is \`tools/llama-server --threads N --sequences 8\` and \`xinfer-cpu ×N\`
is \`xinfer serve --executor cpu --threads N\`, at the same N: ${threadWords}. \`xinfer-webgpu\` and
\`xinfer-reference\` are single configurations (threads "–": the WebGPU adapter, and one
JavaScript thread); their ratios are against \`llama.cpp ×${CORES}\`.${MODELS.some((m) => !m.runtimes.includes(REFERENCE)) ? ` \`xinfer-reference\` runs on the demo model only: on the SmolLM-shaped models it makes about 2 tok/s, and would take most of the run.` : ''}

Models: ${MODELS.map((m) => `\`${m.key}\`: ${m.label}`).join('; ')}.

Greedy, the same built-in chat prompts for every runtime (rendered as plain text: no model has a
chat template), max tokens ${MODELS.map((m) => `${m.maxTokens} (${m.key})`).join(', ')}. Requests per run: ${MODELS.map(
  (m) =>
    `${m.key}: ${loadWords(m.load)}${m.slowLoad ? ` (xinfer-webgpu: ${loadWords(m.slowLoad)})` : ''}`,
).join('; ')}.
TTFT(${TTFT_PROMPT_TOKENS}), time to first token for a ${TTFT_PROMPT_TOKENS}-token prompt: at c=1, after the runs above on the same
server, each request a different prompt of exactly ${TTFT_PROMPT_TOKENS} tokens by the model's own tokenizer
(no two share a prefix, so no prefix cache helps), max tokens ${TTFT_MAX_TOKENS}; prompt tokens per request as the
servers counted them: ${promptTokens.join('; ')}.${slowerAtAllCores.length > 0 ? `\n\nOn this machine llama.cpp decodes (c=1) slower at ${CORES} threads than at 1 on ${slowerAtAllCores.join(', ')}: the servers, the load client and the inference threads share these ${CORES} cores (tools/llama-server's own default is all cores but one).` : ''}

| model | runtime | threads | decode tok/s, c=1 | TTFT p50 ms, c=1 | aggregate tok/s, c=8 | TTFT p50 ms, c=8 | TTFT p50 ms, ${TTFT_PROMPT_TOKENS}-token prompt | decode c=1 ÷ llama.cpp | aggregate c=8 ÷ llama.cpp | TTFT(${TTFT_PROMPT_TOKENS}) xinfer ÷ llama.cpp | failed |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

xinfer ÷ llama.cpp at the same thread count, with the targets of the CPU executor (decode and
aggregate: higher is better; TTFT: xinfer's ÷ llama.cpp's, lower is better):

${ratioTable}

Resident memory of each server (\`/proc/PID/status\` VmRSS, and VmHWM for the peak) after its runs above,
against the model file and the KV pool the server sized (xinfer's default: \`maxNumBlocks\` 1024 blocks
of 16 tokens, f32 K/V, where memory allows; pool pages never written are not resident). llama.cpp maps
the file and keeps its own f16 cache (pool "–"). Target of the CPU executor: resident ≤ 1.2 × (file + pool).

| model | runtime | file MiB | KV pool MiB | resident MiB | peak resident MiB | resident ÷ (file + pool) | resident ÷ file |
| --- | --- | --- | --- | --- | --- | --- | --- |
${memoryRows.join('\n')}
${problems.length > 0 ? `\nNot measured:\n\n${problems.map((p) => `- ${p}`).join('\n')}\n` : ''}
![aggregate tok/s by concurrency](docs/bench-compare.svg)

${cards.map((card) => `#### ${card.model.key}: ${card.title}\n\n${card.markdown.trim()}`).join('\n\n')}
<!-- bench:compare:end -->`;
replaceBetweenMarkers(join(ROOT, 'BENCHMARKS.md'), generated, '# Benchmarks\n\n');

const readmeRatios = `<!-- bench:ratios:start (written by pnpm bench:compare) -->
xinfer ÷ llama.cpp on this machine (${date}${QUICK ? ', a --quick run' : ''}; ${machine.adapter === 'none' ? 'no WebGPU adapter' : `WebGPU adapter: ${machine.adapter}`}; threads ${threadWords}; \`xinfer-cpu ×N\` against \`llama.cpp ×N\`, the others against \`llama.cpp ×${CORES}\`; details in [BENCHMARKS.md](BENCHMARKS.md)):

${ratioTable}
<!-- bench:ratios:end -->`;
replaceBetweenMarkers(join(ROOT, 'README.md'), readmeRatios);

function replaceBetweenMarkers(file, block, header = '') {
  const name = block.match(/<!-- (bench:[a-z]+):start/)[1];
  const text = existsSync(file) ? readFileSync(file, 'utf8') : header;
  const re = new RegExp(`<!-- ${name}:start[\\s\\S]*?<!-- ${name}:end -->`);
  writeFileSync(file, re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`);
}

log(
  `done in ${fmt(minutes)} minutes: results in bench-results/, BENCHMARKS.md, docs/bench-compare.svg`,
);
if (problems.length > 0) {
  log(`not measured:\n${problems.join('\n')}`);
  process.exitCode = 1;
}
