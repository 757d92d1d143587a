// The page's script (bundled for browsers into dist/page.js by scripts/build.mjs): loads the demo
// model over HTTP, makes an InferenceEngine on the executor the address asks for, and streams the
// greedy continuation of a prompt into the page token by token.
//
// Address parameters: executor=cpu|webgpu|auto (default auto), threads=N (CPU executor),
// prompt=..., max_tokens=N, autostart=1 (generate once the engine is ready; for tests and links),
// json_schema=<JSON Schema> or grammar=<GBNF> (the output held to it; xgrammar, a chunk of its
// own, is fetched the first time).
//
// What it reports, for people and for tests: #status (text, and data-state = loading | ready |
// generating | done | error, data-executor, data-threads, data-isolated), #notes (the engine's
// log lines, such as WebGPU being unavailable and the CPU executor running instead), #output (the
// generated text only), #error (any error, never swallowed).
import { demoModelInfo } from '@x/demo-model';
import { type Constraint, InferenceEngine, setEnginePlatform, xgrammarFromModule } from '@x/engine';

// The grammar engine, imported only when a request has a constraint.
setEnginePlatform({ loadXGrammar: () => xgrammarFromModule(import('@mlc-ai/web-xgrammar')) });

import { blobSource, loadGgufModel } from '@x/model';

type State = 'loading' | 'ready' | 'generating' | 'done' | 'error';
type ExecutorChoice = 'cpu' | 'webgpu' | 'auto';
const EXECUTORS: readonly ExecutorChoice[] = ['cpu', 'webgpu', 'auto'];
const DEFAULT_PROMPT = 'In the beginning';
const DEFAULT_MAX_TOKENS = 100;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const ui = {
  status: element<HTMLElement>('status'),
  notes: element<HTMLUListElement>('notes'),
  error: element<HTMLElement>('error'),
  form: element<HTMLFormElement>('generate-form'),
  prompt: element<HTMLTextAreaElement>('prompt'),
  maxTokens: element<HTMLInputElement>('max-tokens'),
  generate: element<HTMLButtonElement>('generate'),
  promptEcho: element<HTMLElement>('prompt-echo'),
  output: element<HTMLElement>('output'),
  stats: element<HTMLElement>('stats'),
  executorSelect: element<HTMLSelectElement>('executor'),
  threadsInput: element<HTMLInputElement>('threads'),
};

/** The engine once made; the Generate button does nothing before (it is disabled). */
let loaded: InferenceEngine | undefined;

const isolated = globalThis.crossOriginIsolated === true;
ui.status.dataset.isolated = String(isolated);

function setState(state: State, text: string): void {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
  ui.generate.disabled = !loaded || state === 'loading' || state === 'generating';
}

function note(line: string): void {
  const item = document.createElement('li');
  item.textContent = line.replace(/^xinfer: /, '');
  ui.notes.append(item);
}

/** Shows `error` in the page (and the console), and leaves the page in the error state. */
function showError(error: unknown): void {
  const message =
    error instanceof Error ? `${error.name}: ${error.message}` : `Error: ${String(error)}`;
  ui.error.textContent = message;
  ui.error.hidden = false;
  setState('error', `Failed: ${message}`);
  console.error(error);
}

window.addEventListener('error', (event) => showError(event.error ?? event.message));
window.addEventListener('unhandledrejection', (event) => showError(event.reason));

/** The address's settings, checked: a bad one is an error in the page, not a silent default. */
function readSettings(params: URLSearchParams) {
  const executor = (params.get('executor') ?? 'auto') as ExecutorChoice;
  if (!EXECUTORS.includes(executor)) {
    throw new Error(`executor must be one of ${EXECUTORS.join(', ')}, got "${executor}"`);
  }
  const threadsText = params.get('threads');
  const threads = threadsText === null || threadsText === '' ? undefined : Number(threadsText);
  const maxTokensText = params.get('max_tokens');
  const maxTokens = maxTokensText === null ? DEFAULT_MAX_TOKENS : Number(maxTokensText);
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new Error(`max_tokens must be a positive integer, got "${maxTokensText}"`);
  }
  return {
    executor,
    threads,
    prompt: params.get('prompt') ?? DEFAULT_PROMPT,
    maxTokens,
    autostart: params.get('autostart') === '1',
    constraint: readConstraint(params),
  };
}

/** `json_schema` or `grammar` from the address, or none. */
function readConstraint(params: URLSearchParams): Constraint | undefined {
  const schema = params.get('json_schema');
  const grammar = params.get('grammar');
  if (schema !== null && grammar !== null) throw new Error('give json_schema or grammar, not both');
  if (grammar !== null) return { type: 'grammar', grammar };
  if (schema === null) return undefined;
  try {
    return { type: 'json_schema', schema: JSON.parse(schema) };
  } catch (error) {
    throw new Error(`json_schema is not JSON: ${(error as Error).message}`);
  }
}

/** What the address asked the output to match; set once the settings are read. */
let constraint: Constraint | undefined;

async function loadEngine(executor: ExecutorChoice, threads: number | undefined) {
  setState('loading', `Downloading ${demoModelInfo.name} (${demoModelInfo.file})…`);
  const response = await fetch(new URL(demoModelInfo.file, document.baseURI));
  if (!response.ok) {
    throw new Error(
      `fetching ${demoModelInfo.file}: HTTP ${response.status} ${response.statusText}`,
    );
  }
  const blob = await response.blob();
  setState('loading', `Loading ${demoModelInfo.name} (${(blob.size / 2 ** 20).toFixed(1)} MiB)…`);
  const model = await loadGgufModel(blobSource(blob, demoModelInfo.file));
  setState('loading', `Starting the ${executor} executor…`);
  return InferenceEngine.create({ model, executor, threads, log: note });
}

async function generate(engine: InferenceEngine, prompt: string, maxTokens: number) {
  ui.error.hidden = true;
  ui.error.textContent = '';
  ui.promptEcho.textContent = prompt;
  ui.output.textContent = '';
  ui.stats.textContent = '';
  setState('generating', `Generating on ${describe(engine)}…`);
  const stream = engine.generate(prompt, { temperature: 0, maxTokens, constraint });
  let text = '';
  for await (const delta of stream) {
    text += delta.text;
    ui.output.textContent = text;
  }
  const result = await stream.result;
  const { completionTokens } = result.usage;
  ui.stats.textContent =
    `${completionTokens} tokens (${result.finishReason}), ` +
    `${result.timings.decodeTokPerSec.toFixed(1)} tokens/s after the first, ` +
    `first after ${result.timings.ttftMs.toFixed(0)} ms`;
  ui.status.dataset.finishReason = result.finishReason;
  setState('done', `Done on ${describe(engine)}.`);
}

/** Worker threads of the CPU executor; undefined for other executors. */
function threadsOf(engine: InferenceEngine): number | undefined {
  const threads = (engine.executor as { threads?: unknown }).threads;
  return typeof threads === 'number' ? threads : undefined;
}

function describe(engine: InferenceEngine): string {
  const threads = threadsOf(engine);
  return threads === undefined
    ? engine.info.executor
    : `${engine.info.executor}, ${threads} thread${threads === 1 ? '' : 's'}`;
}

async function main(): Promise<void> {
  const settings = readSettings(new URLSearchParams(location.search));
  constraint = settings.constraint;
  ui.executorSelect.value = settings.executor;
  if (settings.threads !== undefined) ui.threadsInput.value = String(settings.threads);
  ui.prompt.value = settings.prompt;
  ui.maxTokens.value = String(settings.maxTokens);
  if (!isolated && settings.executor !== 'webgpu') {
    note(
      'this page is not cross-origin isolated (no COOP/COEP headers), so the CPU executor runs ' +
        'on one thread',
    );
  }

  let engine: InferenceEngine;
  try {
    engine = await loadEngine(settings.executor, settings.threads);
  } catch (error) {
    if ((error as Error)?.name === 'GpuUnavailableError') {
      note('WebGPU is unavailable in this browser; executor=auto (or cpu) runs on the CPU instead');
    }
    throw error;
  }
  loaded = engine;
  const threads = threadsOf(engine);
  ui.status.dataset.executor = engine.info.executor;
  ui.status.dataset.threads = threads === undefined ? '' : String(threads);
  if (settings.threads !== undefined && threads !== undefined && threads !== settings.threads) {
    note(`asked for ${settings.threads} threads; running on ${threads}`);
  }
  setState('ready', `Ready on ${describe(engine)}.`);

  if (settings.autostart) run();
}

function run(): void {
  if (!loaded || ui.status.dataset.state === 'generating') return;
  generate(loaded, ui.prompt.value, Number(ui.maxTokens.value)).catch(showError);
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  run();
});

main().catch(showError);
