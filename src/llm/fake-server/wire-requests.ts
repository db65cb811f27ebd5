/**
 * @module llm/fake-server/wire-requests — the OpenAI request bodies the fake server accepts (Chat Completions and
 * Completions), validated with zod, and their translation into the Provider contract's LlmRequest.
 */
import { z } from 'zod';
import type { ChatMessage, LlmRequest } from '../types.ts';

/** Default `max_tokens` of the Completions endpoint when the body gives none (OpenAI's default). */
export const defaultCompletionsMaxTokens = 16;
/** Default completion limit of the chat endpoint when the body gives none. */
export const defaultChatMaxTokens = 4096;

const contentPartSchema = z.object({ type: z.literal('text'), text: z.string() });

const chatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(contentPartSchema)]),
});

const stopSchema = z.union([z.string(), z.array(z.string()).max(4)]).nullish();
const temperatureSchema = z.number().min(0).max(2).nullish();
const singleChoiceSchema = z.literal(1).nullish();
const noStreamSchema = z.literal(false, { message: 'streaming is not supported by the fake server' }).nullish();

export const ChatCompletionBodySchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(chatMessageSchema).min(1),
    max_tokens: z.number().int().min(1).nullish(),
    max_completion_tokens: z.number().int().min(1).nullish(),
    temperature: temperatureSchema,
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    stop: stopSchema,
    n: singleChoiceSchema,
    stream: noStreamSchema,
  })
  .refine((body) => body.top_logprobs == null || body.logprobs === true, {
    message: '`top_logprobs` requires `logprobs` to be true',
    path: ['top_logprobs'],
  });
export type ChatCompletionBody = z.infer<typeof ChatCompletionBodySchema>;

export const CompletionBodySchema = z.object({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'the fake server takes one prompt per request')]),
  max_tokens: z.number().int().min(0).nullish(),
  temperature: temperatureSchema,
  echo: z.boolean().nullish(),
  logprobs: z.number().int().min(0).max(20).nullish(),
  stop: stopSchema,
  n: singleChoiceSchema,
  stream: noStreamSchema,
});
export type CompletionBody = z.infer<typeof CompletionBodySchema>;

function stopList(stop: string | string[] | null | undefined): string[] | undefined {
  if (stop == null) return undefined;
  return typeof stop === 'string' ? [stop] : stop;
}

function messageOf(message: z.infer<typeof chatMessageSchema>): ChatMessage {
  const content =
    typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join('');
  return { role: message.role === 'developer' ? 'system' : message.role, content };
}

export function chatBodyToRequest(body: ChatCompletionBody): LlmRequest {
  return {
    messages: body.messages.map(messageOf),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? defaultChatMaxTokens,
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.logprobs ? { logprobs: { topK: body.top_logprobs ?? 0 } } : {}),
    ...(body.stop != null ? { stop: stopList(body.stop) } : {}),
  };
}

export function completionBodyToRequest(body: CompletionBody): LlmRequest {
  const prompt = typeof body.prompt === 'string' ? body.prompt : (body.prompt[0] ?? '');
  return {
    prompt,
    maxTokens: body.max_tokens ?? defaultCompletionsMaxTokens,
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.logprobs != null ? { logprobs: { topK: body.logprobs, echo: body.echo === true } } : {}),
    ...(body.stop != null ? { stop: stopList(body.stop) } : {}),
  };
}

/** Anthropic Messages API body (the fields the project sends, and the common ones it does not). */
const anthropicContentSchema = z.union([z.string(), z.array(z.object({ type: z.literal('text'), text: z.string() }))]);
export const AnthropicMessagesBodySchema = z.object({
  model: z.string().min(1),
  max_tokens: z.number().int().min(1),
  messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: anthropicContentSchema })).min(1),
  system: anthropicContentSchema.optional(),
  temperature: z.number().min(0).max(1).optional(),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.literal(false).optional(),
});
export type AnthropicMessagesBody = z.infer<typeof AnthropicMessagesBodySchema>;

const anthropicText = (content: z.infer<typeof anthropicContentSchema>) =>
  typeof content === 'string' ? content : content.map((part) => part.text).join('');

export function anthropicBodyToRequest(body: AnthropicMessagesBody): LlmRequest {
  const messages: ChatMessage[] = [];
  if (body.system !== undefined) messages.push({ role: 'system', content: anthropicText(body.system) });
  for (const message of body.messages) messages.push({ role: message.role, content: anthropicText(message.content) });
  return {
    messages,
    maxTokens: body.max_tokens,
    ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.stop_sequences ? { stop: body.stop_sequences } : {}),
  };
}
