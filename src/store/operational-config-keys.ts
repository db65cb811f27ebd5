/**
 * @module store/operational-config-keys — the keys of a stored run config (`runs.config`) that change how a run is
 * executed, not its results: a resume may override them, and `merge` ignores them when it groups shard runs.
 * pipeline/config.ts checks that each is a key of its config type.
 */
export const operationalConfigKeys = [
  'concurrency',
  'requestsPerMinute',
  'tokensPerMinute',
  'rateWindowMs',
  'requestConcurrency',
  'maxAttempts',
  'retryBaseDelayMs',
  'requestTimeoutMs',
  'answerAttempts',
  'cache',
  'maxCostUsd',
  'prices',
  'batch',
  'batchPollMs',
  'batchMaxWaitMs',
  // Where the OpenAI-compatible server runs, not what it computes (the model is in `explainer`/`simulator`): shards
  // on machines with a server each merge as one run, and a resume may point at a server that moved.
  'baseUrl',
] as const;
