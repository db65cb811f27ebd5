/**
 * @module llm/prompt-builder — collects role/content messages, checks their order, and renders them as chat
 * messages or as one flat string (the reference's PromptBuilder, PromptFormat.NONE / HARMONY_V4).
 */
import type { ChatMessage, Role } from './types.ts';

export class PromptBuilder {
  private readonly messages: ChatMessage[] = [];

  add(role: Role, content: string): this {
    const previous = this.messages.at(-1)?.role;
    const expected: Role[] =
      previous === undefined ? ['system', 'user'] : previous === 'user' ? ['assistant'] : ['user'];
    if (!expected.includes(role)) {
      throw new Error(
        `prompt message order: expected ${expected.join(' or ')} after ${previous ?? 'start'}, got ${role}`,
      );
    }
    this.messages.push({ role, content });
    return this;
  }

  /** A copy of the messages (callers cannot mutate the builder through it). */
  toMessages(): ChatMessage[] {
    return this.messages.map((message) => ({ ...message }));
  }

  /** All contents concatenated, as sent to a Completions endpoint. */
  toFlatString(): string {
    return this.messages.map((message) => message.content).join('');
  }

  /** Length of `toFlatString()`, without building it. */
  get flatLength(): number {
    let length = 0;
    for (const message of this.messages) length += message.content.length;
    return length;
  }

  get length(): number {
    return this.messages.length;
  }
}
