/** @module simulate — the simulation prompt file, simulation prompts, logprob readers, expected values. */
export * from './types.ts';
export * from './expected-value.ts';
export * from './build-simulation-prompt.ts';
export * from './read-prompt-logprobs.ts';
export * from './read-chat-logprobs.ts';
export * from './simulate-records.ts';
export * from './malformed-answer-error.ts';
export * from './read-sampled-values.ts';
export * from './incomplete-answer-error.ts';
export * from './plan-simulation-calls.ts';
export * from './simulate-template.ts';
