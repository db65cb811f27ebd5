/**
 * @module llm/baseline/filler-logprobs — a plausible, deterministic logprob for tokens where the rule-based model
 * has no opinion (the echoed prompt text, the words of an explanation): between −0.05 and −4.05, from a hash of the
 * token text, so equal requests give equal answers.
 */

/** FNV-1a 32-bit hash of a string's UTF-16 code units. */
function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Natural-log probability for an ordinary token. */
export function fillerLogprob(token: string): number {
  return -(0.05 + (hashText(token) % 401) / 100);
}

/** The top alternatives at an ordinary token's position: the token itself (when topK ≥ 1). */
export function fillerTopLogprobs(token: string, topK: number): Record<string, number> {
  return topK >= 1 ? { [token]: fillerLogprob(token) } : {};
}
