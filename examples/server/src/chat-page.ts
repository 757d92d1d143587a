/**
 * The chat page served at `/`: one static page, no build step, that streams replies from
 * `/v1/chat/completions` (SSE) and keeps the conversation; usable on a phone-sized screen.
 */
export const CHAT_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xinfer chat</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 0; display: flex; flex-direction: column; height: 100dvh; }
  header { padding: .5rem 1rem; border-bottom: 1px solid #8884; display: flex; gap: .5rem;
    align-items: center; flex-wrap: wrap; font-size: .9rem; }
  header strong { margin-right: auto; }
  header input { width: 9rem; }
  #log { flex: 1; overflow-y: auto; padding: 1rem; display: flex; flex-direction: column; gap: .75rem; }
  .msg { max-width: 85%; padding: .5rem .75rem; border-radius: .75rem; white-space: pre-wrap;
    overflow-wrap: anywhere; line-height: 1.4; }
  .user { align-self: flex-end; background: #2563eb; color: white; }
  .assistant { align-self: flex-start; background: #8882; }
  .error { align-self: center; color: #dc2626; }
  .note { align-self: center; font-size: .8rem; opacity: .7; }
  form { display: flex; gap: .5rem; padding: .75rem; border-top: 1px solid #8884; }
  textarea { flex: 1; resize: none; font: inherit; padding: .5rem; border-radius: .5rem; min-height: 2.5rem; }
  button { font: inherit; padding: .5rem 1rem; border-radius: .5rem; }
</style>
</head>
<body>
<header>
  <strong>xinfer</strong>
  <span id="model">…</span>
  <label>key <input id="key" type="password" autocomplete="off" placeholder="API key, if set"></label>
</header>
<main id="log" aria-live="polite"></main>
<form id="form">
  <textarea id="input" rows="1" placeholder="Message" aria-label="Message" required></textarea>
  <button id="send" type="submit">Send</button>
</form>
<script type="module">
const log = document.getElementById('log');
const form = document.getElementById('form');
const input = document.getElementById('input');
const send = document.getElementById('send');
const keyInput = document.getElementById('key');
const history = [];
// How many of the oldest messages no longer fit the model's context and are not sent.
let forgotten = 0;
let model = '';
// Sampling settings from the address, e.g. /?temperature=0&max_tokens=128 for repeatable replies.
// Without max_tokens the server lets a reply run to the end of the model's context (or its end of
// text), as OpenAI's API does: a fixed default would not fit every model's context.
const query = new URLSearchParams(location.search);
const sampling = {};
for (const name of ['temperature', 'top_p', 'max_tokens', 'seed']) {
  if (query.has(name)) sampling[name] = Number(query.get(name));
}

function headers() {
  const h = { 'Content-Type': 'application/json' };
  if (keyInput.value) h.Authorization = 'Bearer ' + keyInput.value;
  return h;
}

function bubble(role, text) {
  const div = document.createElement('div');
  div.className = 'msg ' + role;
  div.textContent = text;
  log.append(div);
  log.scrollTop = log.scrollHeight;
  return div;
}

function note(text) {
  const div = document.createElement('div');
  div.className = 'note';
  div.textContent = text;
  return div;
}

async function loadModel() {
  const response = await fetch('/v1/models', { headers: headers() });
  if (!response.ok) throw new Error((await response.json()).error.message);
  model = (await response.json()).data[0].id;
  document.getElementById('model').textContent = model;
}

// Opens the reply stream. When the conversation no longer fits the model's context, the oldest
// exchanges are left out of what is sent (the page still shows them), one at a time, until it fits
// or only the new message is left.
async function request(messages) {
  for (;;) {
    const response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ model, messages, stream: true, ...sampling }),
    });
    if (response.ok) return { response, messages };
    const { error } = await response.json();
    const oldest = messages.findIndex((m, i) => i > 0 && m.role === 'user');
    if (error?.code !== 'context_length_exceeded' || oldest < 0) throw new Error(error?.message);
    messages = messages.slice(oldest);
  }
}

async function ask(content) {
  history.push({ role: 'user', content });
  bubble('user', content);
  const reply = bubble('assistant', '');
  const sent = await request(history.slice(forgotten));
  const { response } = sent;
  const dropped = history.length - forgotten - sent.messages.length;
  if (dropped > 0) {
    forgotten += dropped;
    log.insertBefore(note('earlier messages left out: they no longer fit the context'), reply);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\\n\\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) {
          text += delta;
          reply.textContent = text;
          log.scrollTop = log.scrollHeight;
        }
      }
    }
  }
  history.push({ role: 'assistant', content: text });
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const content = input.value.trim();
  if (!content) return;
  input.value = '';
  send.disabled = true;
  try {
    if (!model) await loadModel();
    await ask(content);
  } catch (error) {
    if (history.at(-1)?.role === 'user') history.pop();
    bubble('error', error.message);
  } finally {
    send.disabled = false;
    input.focus();
  }
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});
loadModel().catch(() => {});
</script>
</body>
</html>
`;
