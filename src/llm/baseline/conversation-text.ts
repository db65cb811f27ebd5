/**
 * @module llm/baseline/conversation-text — flattens chat messages into one text the prompt parser can read, the way
 * the reference renders a chat prompt as a flat string: an assistant turn continues the text it answers (so a
 * few-shot answer lands on its "…does is find" line), other turns start on a new line.
 */
import type { ChatMessage } from '../types.ts';

/** Joins message contents in order; inserts "\n" before a non-assistant turn that would otherwise run on. */
export function flattenConversation(messages: readonly ChatMessage[]): string {
  let text = '';
  for (const message of messages) {
    const needsBreak =
      message.role !== 'assistant' && text.length > 0 && !text.endsWith('\n') && !message.content.startsWith('\n');
    text += (needsBreak ? '\n' : '') + message.content;
  }
  return text;
}
