/**
 * @module llm/keyed-client — an SDK client per API key, shared by a provider and its batch client: made when first
 * needed, made again when the key in force changes (the key is read at every call, never earlier, so a key set or
 * rotated in the environment during a long run is used from the next call on).
 */

export interface KeyedClient<Client> {
  client: Client;
  key: string;
}

/** `acquire()` resolves the key (it may throw, e.g. when there is none) and returns the client made for it. */
export function keyedClient<Client>(
  resolveKey: () => string,
  create: (key: string) => Client,
): () => KeyedClient<Client> {
  let cached: KeyedClient<Client> | undefined;
  return () => {
    const key = resolveKey();
    if (cached?.key !== key) cached = { key, client: create(key) };
    return cached;
  };
}
