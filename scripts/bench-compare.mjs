#!/usr/bin/env node
// `pnpm bench:compare`: xinfer (WebGPU and reference executors) and llama.cpp (through
// tools/llama-server, node-llama-cpp) side by side, through the same OpenAI-compatible HTTP path,
// measured by `xinfer bench` and graded by `xinfer score`, on the same GGUF files: the demo model
// and a generated model with SmolLM-135M's shapes (random Q8_0 weights). Writes the LoadTestResult
// files under bench-results/, prints the scorecards, draws docs/bench-compare.svg, and rewrites the
// generated part of BENCHMARKS.md and the ratios in README.md.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

const importDist = (pkg) => import(pathToFileURL(join(ROOT, pkg, 'dist/index.js')).href);
const { demoModelPath } = await importDist('packages/demo-model');
const model = await importDist('packages/model');

/** SmolLM-135M's shapes with random Q8_0 weights, generated once into the results folder. */
async function smollmShapes() {
  const file = join(OUT, 'smollm-135m-shapes-q8_0.gguf');
  if (existsSync(file)) return file;
  mkdirSync(OUT, { recursive: true });
  const vocab = Array.from({ length: 49152 }, (_, i) => `tok${i}`);
  // A byte-level BPE needs every byte; the first 256 tokens are the GPT-2 byte alphabet.
  const bytes = [];
  for (let b = 0; b < 256; b++) bytes.push(String.fromCodePoint(gpt2Byte(b)));
  vocab.splice(0, 256, ...bytes);
  await model.writeFileChunks(
    file,
    model.syntheticGguf({
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
      numLayers: 30,
      numHeads: 9,
      numKvHeads: 3,
      contextLength: 2048,
      ropeTheta: 100000,
      tieWordEmbeddings: true,
      weightType: model.GgmlType.Q8_0,
      seed: 3,
    }),
  );
  return file;
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

const MODELS = [
  {
    key: 'demo',
    label: 'the demo model (kjv-demo-5.6M-Q8_0, 6 layers × 256)',
    path: demoModelPath,
    requests: { 1: 4, 8: 16 },
    maxTokens: 64,
  },
  {
    key: 'smollm-135m-shapes',
    label: 'SmolLM-135M shapes, random Q8_0 (30 layers × 576, vocabulary 49152)',
    path: await smollmShapes(),
    requests: { 1: 2, 8: 8 },
    maxTokens: 32,
  },
];

const RUNTIMES = [
  { name: 'llama.cpp', command: [LLAMA, '--sequences', '8'] },
  { name: 'xinfer-webgpu', command: [XINFER, 'serve', '--executor', 'webgpu'] },
  { name: 'xinfer-reference', command: [XINFER, 'serve', '--executor', 'reference'] },
];
const CONCURRENCY = [1, 8];

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

const results = []; // { model, runtime, concurrency, file, result }
mkdirSync(OUT, { recursive: true });
for (const m of MODELS) {
  for (const rt of RUNTIMES) {
    log(`${m.key}: starting ${rt.name}`);
    const server = await startServer(rt.command, m.path);
    try {
      for (const c of CONCURRENCY) {
        const file = join(OUT, m.key, `${rt.name}-c${c}.json`);
        mkdirSync(dirname(file), { recursive: true });
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
          String(c),
          '--requests',
          String(m.requests[c]),
          '--max-tokens',
          String(m.maxTokens),
          '--timeout',
          '600',
        ]);
        log(`${m.key}: ${stdout.trim()}`);
        results.push({
          model: m,
          runtime: rt.name,
          concurrency: c,
          file,
          result: JSON.parse(readFileSync(file, 'utf8')),
        });
      }
    } finally {
      await stopServer(server);
    }
  }
}

// Scorecards, through `xinfer score`.
const cards = [];
for (const m of MODELS) {
  const files = (c) =>
    results.filter((r) => r.model === m && r.concurrency === c).map((r) => r.file);
  for (const [title, args] of [
    ['interactive (c=1)', files(1)],
    ['throughput (c=8)', [...files(8), '--c1', ...files(1)]],
    ['concurrency scaling', [...files(8), '--c1', ...files(1), '--card', 'scaling']],
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

// The table and the ratios.
const get = (m, rt, c) =>
  results.find((r) => r.model === m && r.runtime === rt && r.concurrency === c)?.result;
const fmt = (x, digits = 1) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const rows = [];
const ratios = [];
for (const m of MODELS) {
  const base1 = get(m, 'llama.cpp', 1);
  const base8 = get(m, 'llama.cpp', 8);
  for (const rt of RUNTIMES) {
    const r1 = get(m, rt.name, 1);
    const r8 = get(m, rt.name, 8);
    const d1 = r1?.decode_tok_per_sec;
    const a8 = r8?.tokens_per_sec;
    rows.push(
      `| ${m.key} | ${rt.name} | ${fmt(d1)} | ${fmt(r1?.ttft_p50_ms, 0)} | ${fmt(a8)} | ${fmt(r8?.ttft_p50_ms, 0)} | ` +
        `${rt.name === 'llama.cpp' ? '1' : fmt(d1 / base1?.decode_tok_per_sec, 2)} | ` +
        `${rt.name === 'llama.cpp' ? '1' : fmt(a8 / base8?.tokens_per_sec, 2)} | ${(r1?.failed ?? 0) + (r8?.failed ?? 0)} |`,
    );
    if (rt.name !== 'llama.cpp') {
      ratios.push(
        `| ${m.key} | ${rt.name} | ${fmt(d1 / base1?.decode_tok_per_sec, 2)} | ${fmt(a8 / base8?.tokens_per_sec, 2)} |`,
      );
    }
  }
}
const minutes = (Date.now() - started) / 60_000;
const date = new Date().toISOString().slice(0, 10);

// The chart: aggregate tok/s by concurrency, one panel per model, one bar per runtime.
writeFileSync(join(ROOT, 'docs/bench-compare.svg'), chart());
function chart() {
  const colors = {
    'llama.cpp': '#6b7280',
    'xinfer-webgpu': '#2563eb',
    'xinfer-reference': '#f59e0b',
  };
  const panelW = 360;
  const panelH = 220;
  const pad = { left: 56, top: 40, bottom: 44 };
  const width = MODELS.length * (panelW + pad.left) + 20;
  const height = panelH + pad.top + pad.bottom + 40;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  MODELS.forEach((m, i) => {
    const x0 = i * (panelW + pad.left) + pad.left;
    const values = results.filter((r) => r.model === m).map((r) => r.result.tokens_per_sec);
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
    const groupW = panelW / CONCURRENCY.length;
    const barW = (groupW - 30) / RUNTIMES.length;
    CONCURRENCY.forEach((c, gi) => {
      const gx = x0 + gi * groupW + 15;
      RUNTIMES.forEach((rt, ri) => {
        const v = get(m, rt.name, c)?.tokens_per_sec ?? 0;
        const bx = gx + ri * barW;
        parts.push(
          `<rect x="${bx}" y="${y(v)}" width="${barW - 4}" height="${pad.top + panelH - y(v)}" fill="${colors[rt.name]}"/>`,
        );
        parts.push(
          `<text x="${bx + (barW - 4) / 2}" y="${y(v) - 4}" text-anchor="middle" font-size="10">${fmt(v)}</text>`,
        );
      });
      parts.push(
        `<text x="${gx + (groupW - 30) / 2}" y="${pad.top + panelH + 16}" text-anchor="middle">c=${c}</text>`,
      );
    });
  });
  RUNTIMES.forEach((rt, ri) => {
    const lx = pad.left + ri * 160;
    const ly = height - 16;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${colors[rt.name]}"/>`);
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
const generated = `<!-- bench:compare:start (written by pnpm bench:compare; edit outside the markers) -->
Latest run: ${date}, \`pnpm bench:compare\`, ${fmt(minutes)} minutes.

| | |
| --- | --- |
| CPU | ${machine.cpu} |
| memory | ${machine.memory} |
| OS | ${machine.os} |
| Node | ${machine.node} |
| WebGPU adapter | ${machine.adapter} |
| llama.cpp | node-llama-cpp ${machine.nodeLlamaCpp} (CPU build) |
| xinfer | ${machine.xinfer} (this commit) |

Greedy, the same built-in chat prompts for every runtime (rendered as plain text: neither model has
a chat template), max tokens ${MODELS.map((m) => `${m.maxTokens} (${m.key})`).join(', ')}; requests:
${MODELS.map((m) => `${m.requests[1]} at c=1 and ${m.requests[8]} at c=8 (${m.key})`).join('; ')}.

| model | runtime | decode tok/s, c=1 | TTFT p50 ms, c=1 | aggregate tok/s, c=8 | TTFT p50 ms, c=8 | decode c=1 ÷ llama.cpp | aggregate c=8 ÷ llama.cpp | failed |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

![aggregate tok/s by concurrency](docs/bench-compare.svg)

${cards.map((card) => `#### ${card.model.key}: ${card.title}\n\n${card.markdown.trim()}`).join('\n\n')}
<!-- bench:compare:end -->`;
replaceBetweenMarkers(join(ROOT, 'BENCHMARKS.md'), generated, '# Benchmarks\n\n');

const readmeRatios = `<!-- bench:ratios:start (written by pnpm bench:compare) -->
xinfer ÷ llama.cpp on this machine (${date}; ${machine.adapter === 'none' ? 'no WebGPU adapter' : `WebGPU adapter: ${machine.adapter}`}; details in [BENCHMARKS.md](BENCHMARKS.md)):

| model | runtime | decode tok/s at c=1 | aggregate tok/s at c=8 |
| --- | --- | --- | --- |
${ratios.join('\n')}
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
