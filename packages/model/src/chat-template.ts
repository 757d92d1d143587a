import { Template } from '@huggingface/jinja';

/** One chat message, as the OpenAI API and Hugging Face chat templates shape it. */
export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

/** Options of {@link renderChatTemplate}. */
export interface ChatTemplateOptions {
  /** End with the assistant's turn header, so the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** Extra variables for the template (`tools`, `date_string`, …). */
  variables?: Record<string, unknown>;
}

/** A chat template that cannot be parsed or rendered. */
export class ChatTemplateError extends Error {
  override readonly name = 'ChatTemplateError';
  readonly code = 'CHAT_TEMPLATE_INVALID';
}

/**
 * A compiled chat template (Jinja, as in `tokenizer_config.json` or GGUF's `tokenizer.chat_template`),
 * rendered with `@huggingface/jinja`.
 */
export class ChatTemplate {
  private readonly template: Template;

  /** @throws ChatTemplateError when the template does not parse */
  constructor(readonly source: string) {
    try {
      this.template = new Template(source);
    } catch (cause) {
      throw new ChatTemplateError(`the chat template does not parse: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  /**
   * The prompt for `messages`.
   * @throws ChatTemplateError when rendering fails (a template's `raise_exception` included)
   */
  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    try {
      return this.template.render({
        ...options.variables,
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? true,
        bos_token: options.bosToken ?? '',
        eos_token: options.eosToken ?? '',
      });
    } catch (cause) {
      throw new ChatTemplateError(`the chat template failed: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
}
