/**
 * @module llm/endpoint — the server a provider or batch client talks to (its base URL): the one check every one of
 * them makes before a request carries an API key (never over plain http to a host other than loopback: 127.0.0.0/8,
 * ::1, localhost), how a base URL is named in messages (scheme, host and port only), and its identity in the
 * response-cache key (the same model name on another server is another model).
 */
import { isIPv4 } from 'node:net';
import { LlmCallError } from './types.ts';

/** True for the loopback hosts a key may reach over plain http: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

/** True for plain-http URLs to hosts other than loopback: a key sent there crosses the network readable. */
export function sendsKeyInClear(baseURL: string): boolean {
  let url: URL;
  try {
    url = new URL(baseURL);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && !isLoopbackHost(url.hostname);
}

/** Scheme, host and port only: never userinfo, path or query (they can carry credentials). */
export function describeHost(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'the base URL';
  }
}

export interface KeyedEndpoint {
  /** The provider id, for the message (`anthropic:claude-…`). */
  providerId: string;
  /** What the key is called in the message: an environment variable's name, or "the API key" when given in code. */
  keyName: string;
}

/**
 * Throws (not retryable) unless `baseURL` is a URL a key may be sent to: https, or http to loopback. Called by every
 * provider and batch client when it reads a key, before any request is built with it.
 */
export function assertSafeEndpoint(baseURL: string, endpoint: KeyedEndpoint): void {
  let url: URL;
  try {
    url = new URL(baseURL);
  } catch {
    throw new LlmCallError(`${endpoint.providerId}: the base URL is not a valid URL (expected e.g. https://host/v1)`, {
      retryable: false,
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new LlmCallError(`${endpoint.providerId}: the base URL must be http or https, not ${url.protocol}`, {
      retryable: false,
    });
  }
  if (sendsKeyInClear(baseURL)) {
    throw new LlmCallError(
      `${endpoint.providerId}: refusing to send ${endpoint.keyName} in clear text to ${describeHost(baseURL)}: use https, or unset the key for a keyless server`,
      { retryable: false },
    );
  }
}

/**
 * The identity of a base URL in the response-cache key: scheme, host (lower case) and port, and the path without
 * trailing slashes; never userinfo, query or fragment. `http://Host:8000/v1/` and `http://host:8000/v1` are one
 * endpoint; `http://127.0.0.1:8000/v1` and `http://localhost:8000/v1` are two.
 */
export function endpointIdentity(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return baseURL.trim().replace(/\/+$/, '');
  }
}
