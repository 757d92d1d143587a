export { createApp, type OpenAiErrorBody, openAiError } from './app.js';
export { type RunningServer, type ServerOptions, startServer } from './serve.js';
