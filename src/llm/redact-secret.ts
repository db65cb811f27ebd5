/**
 * @module llm/redact-secret — removes an API key (and anything shaped like an OpenAI key, even partly masked) from
 * text before it goes into an error message or a log.
 */

const keyShapedPattern = /\b(sk|sess|rk)-[A-Za-z0-9_\-*.]{3,}/g;

export function redactSecret(text: string, secret: string | undefined): string {
  let redacted = text;
  if (secret && secret.length >= 4) redacted = redacted.split(secret).join('[redacted]');
  return redacted.replace(keyShapedPattern, '$1-[redacted]');
}
