export { type AppOptions, createApp, type ServerApp } from './app.js';
export { ServerMetrics } from './metrics.js';
export { HttpError, type OpenAiErrorBody, openAiError } from './openai.js';
export { type RunningServer, type ServerOptions, startServer } from './serve.js';
