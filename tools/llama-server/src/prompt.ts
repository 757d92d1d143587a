// Chat messages and text prompts as the token ids llama.cpp evaluates.
import {
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaModel,
  resolveChatWrapper,
  SpecialToken,
  type Token,
} from 'node-llama-cpp';

/** A chat message with its content already flattened to text. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * Text of a model without a chat template (a base model), as xinfer's engine renders it with its
 * `PLAIN_CHAT_TEMPLATE` (packages/engine/src/engine.ts): the messages' contents, trimmed, one per
 * line, nothing after the last. Both runtimes then see the same prompt ids.
 */
export function plainChatText(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content.trim()).join('\n');
}

/**
 * Ids of a text prompt: special-token text parsed (as xinfer's tokenizer does), BOS first when
 * the vocabulary asks for it (`tokenizer.ggml.add_bos_token`).
 */
export function textPromptTokens(model: LlamaModel, text: string): Token[] {
  const ids = model.tokenize(text, true);
  const { bos } = model.tokens;
  if (model.tokens.shouldPrependBosToken && bos !== null && ids[0] !== bos) ids.unshift(bos);
  return ids;
}

/** Renders chat messages into prompt ids for one model. */
export interface ChatPrompter {
  /** `template`: the model's own chat template through node-llama-cpp; `plain`: it has none. */
  readonly source: 'template' | 'plain';
  tokens(messages: readonly ChatMessage[]): Token[];
}

/**
 * The model's chat template when its GGUF file has one (`tokenizer.chat_template`), rendered by
 * the chat wrapper node-llama-cpp resolves for it, with the assistant's turn opened; otherwise
 * {@link plainChatText}. Either text is tokenized whole by {@link textPromptTokens}, as llama.cpp's
 * own server and xinfer's engine tokenize a rendered template: node-llama-cpp would tokenize the
 * template's pieces one by one, and a SentencePiece vocabulary then starts every piece with a
 * space.
 */
export function chatPrompter(model: LlamaModel): ChatPrompter {
  const template = model.fileInfo.metadata.tokenizer?.chat_template;
  if (typeof template !== 'string' || template === '') {
    return {
      source: 'plain',
      tokens: (messages) => textPromptTokens(model, plainChatText(messages)),
    };
  }
  const wrapper: ChatWrapper = resolveChatWrapper(model);
  return {
    source: 'template',
    tokens(messages) {
      const chatHistory: ChatHistoryItem[] = messages.map((m) =>
        m.role === 'system'
          ? { type: 'system', text: m.content }
          : m.role === 'user'
            ? { type: 'user', text: m.content }
            : { type: 'model', response: [m.content] },
      );
      // The last item is the turn to generate: an empty model turn makes the wrapper write the
      // assistant's opening; a last assistant message is continued as it stands.
      if (chatHistory.at(-1)?.type !== 'model') chatHistory.push({ type: 'model', response: [] });
      const { contextText } = wrapper.generateContextState({ chatHistory });
      const text = contextText.values
        .map((v) =>
          typeof v === 'string'
            ? v
            : v instanceof SpecialToken
              ? model.detokenize(v.tokenize(model.tokenizer), true)
              : v.value,
        )
        .join('');
      return textPromptTokens(model, text);
    },
  };
}
