/**
 * @module pipeline/batch-mode — `run --batch`: the same explain → simulate → score work, with the LLM requests sent
 * through the providers' Batch APIs (OpenAI Batch, Anthropic Message Batches) in phases:
 *
 * 1. explain: the requests a live run would make are collected by running each pending feature's unit of work
 *    against a provider that records requests and answers none; requests the response cache or an earlier batch
 *    of the run already answered are not sent again; the rest go out as batches (custom_id = the request's
 *    response-cache key), each recorded in SQLite (llm_batches, llm_batch_requests) before any waiting;
 * 2. simulate: the same, with the explanations read from the explain answers; the judged scorers' requests (they
 *    run beside the simulation, pipeline/run-scorers.ts) are collected in the same pass and batched in this phase,
 *    through the judge's Batch API (a judge without one is refused up front: build-providers.ts);
 * 3. score: each feature's unit of work runs once more against providers that answer only from the cache and the
 *    stored batch answers (read by the same code as live answers) — zero live calls — and is saved as one
 *    transaction, as in a live run.
 *
 * Waiting polls every pending batch with a growing interval; a batch that ends has all its outcomes stored at once.
 * A run killed or left (`batchMaxWaitMs`, Ctrl+C) while a batch is pending is resumed by `run --resume`, which
 * re-collects the requests, finds them pending in the recorded batch and polls it again: nothing is resubmitted.
 * A request that errored, expired or was canceled fails its feature with the reason; a later resume submits it again
 * (failed features are retried, as in live runs). A batch the provider no longer knows (HTTP 404) fails its requests
 * the same way instead of being polled forever. With a budget, features are admitted in order while the run's
 * spend plus an upper-bound estimate of their requests at the batch price stays within it.
 * Best-of-n (`--explanations N`): the N candidates' explain requests go out in phase 1; in phase 2 their calibration
 * simulations go out first (a deferred calibration simulation fails the search while collecting, so no winner is
 * guessed), and the winner's held-out simulation and the judges' requests in the next round, once the choice is made.
 * Revisions (`--revise K`): each revise request goes out (recorded as an explain request) in the round after the
 * calibration answers it is built from, and the revision's calibration simulation in the round after that; the budget
 * estimate counts K revise prompts at an upper bound from the prompt builder (revise-prompt-bound.ts).
 */
import { cacheKey, hasRequestedLogprobs, type ResponseCache } from '../llm/response-cache.ts';
import { abortableSleep, retryCall, type RetryOptions } from '../llm/retry.ts';
import type { PriceTable } from '../llm/price-table.ts';
import type { BatchClient, BatchItem, BatchItemOutcome, BatchState } from '../llm/batch/types.ts';
import { LlmCallError, type LlmRequest, type LlmResult, type Provider } from '../llm/types.ts';
import { wrapProvider } from '../llm/wrap-provider.ts';
import { featureKey } from '../records/feature-key.ts';
import type { FeatureRecord } from '../records/types.ts';
import type { BatchPhase, BatchStore } from '../store/batch-store.ts';
import { loadReviseTemplate } from '../explain/revise-template.ts';
import { EXPLANATION_MAX_TOKENS } from './explain-records.ts';
import { revisePromptTokenBound } from './revise-prompt-bound.ts';
import type { Scorer } from '../score/scorer.ts';
import { DeferredToBatch } from './deferred-to-batch.ts';
import type { PipelineConfig } from './config.ts';
import { featureSplits, processFeature, type FeatureContext, type ProcessedFeature } from './process-feature.ts';

/** What a batch-mode run reports while it works (the CLI prints it). */
export type BatchEvent =
  | { kind: 'collected'; phase: BatchPhase; requests: number; answered: number; pending: number; toSubmit: number }
  | { kind: 'submitted'; phase: BatchPhase; provider: string; batchId: string; requests: number }
  | { kind: 'polled'; phase: BatchPhase; provider: string; batchId: string; state: BatchState; waitedMs: number }
  | { kind: 'ingested'; phase: BatchPhase; provider: string; batchId: string; succeeded: number; failed: number }
  | { kind: 'left'; batchIds: string[] };

export type BatchStopReason = 'signal' | 'budget' | 'batch-pending';

export interface BatchModeOptions {
  runId: number;
  /** Features not settled yet, in source order. */
  todo: readonly FeatureRecord[];
  batchStore: BatchStore;
  /** The live unit-of-work context: its providers give ids and capabilities, its costOf and onCall are used. */
  context: FeatureContext;
  clients: { explainer: BatchClient; simulator: BatchClient; judge: BatchClient };
  /** The response cache (answers it holds are not batched again; batch answers are added to it). */
  cache?: ResponseCache;
  pollMs: number;
  /** Leave pending batches after this long (the run is resumed later). Default: wait until they end. */
  maxWaitMs?: number;
  /** Retries of the batch API calls themselves (submit, poll, results). */
  retry: RetryOptions;
  /** Budget: the run's spend so far, the cap and the prices (for the upper-bound estimate). */
  budget?: { spentUsd: number; maxCostUsd: number; prices: PriceTable };
  /** Stops waiting (first Ctrl+C); features already answered are still scored and saved. */
  stopSignal?: AbortSignal;
  /** Aborts at once. */
  signal?: AbortSignal;
  /** Saves one unit of work (one transaction). */
  save(processed: ProcessedFeature): void;
  onBatch?(event: BatchEvent): void;
}

export interface BatchModeOutcome {
  stoppedBy?: BatchStopReason;
}

/** A provider that records every request and answers none (the unit of work fails at that step; it is discarded). */
function collectingProvider(base: Provider, sink: LlmRequest[]): Provider {
  return wrapProvider(base, {
    async wrapComplete({ request }) {
      const { signal: _signal, ...rest } = request;
      sink.push(rest);
      throw new DeferredToBatch('deferred to a batch');
    },
  });
}

/**
 * A provider answering from `answers` where it can (the cache, the run's stored batch answers) and recording, then
 * deferring, every request it cannot answer: what a unit of work asks once earlier answers are in (a simulation whose
 * incomplete answer is retried with its records split over more calls).
 */
function answeringCollector(base: Provider, answers: Provider, sink: LlmRequest[]): Provider {
  return wrapProvider(base, {
    async wrapComplete({ request }) {
      try {
        return await answers.complete(request);
      } catch {
        const { signal: _signal, ...rest } = request;
        sink.push(rest);
        throw new DeferredToBatch('deferred to a batch');
      }
    },
  });
}

/** Rounds of simulation requests that only earlier answers reveal (each halves the records per call of a retry). */
const MAX_SPLIT_ROUNDS = 8;

/**
 * A provider answering every request with `text` (an explanation placeholder for cost estimates); each answer after
 * the first ends in its number, so that best-of-n candidates differ and each is simulated (none is deduplicated).
 */
function fixedTextProvider(base: Provider, text: string): Provider {
  let answers = 0;
  return wrapProvider(base, {
    wrapComplete: async (): Promise<LlmResult> => ({
      text: answers++ === 0 ? text : `${text} ${answers}`,
      usage: { promptTokens: 0, completionTokens: 0 },
      model: 'placeholder',
      finishReason: 'stop',
      cached: false,
      warnings: [],
    }),
  });
}

interface AnswerOptions {
  runId: number;
  batchStore: BatchStore;
  client: BatchClient;
  cache?: ResponseCache;
  /** Deliver: write answers to the cache, and count each answer's cost once (a repeat is marked cached). */
  deliver: boolean;
  delivered: Set<string>;
  /** Called when a request has no answer yet (pending or never submitted). */
  onNotReady(): void;
}

/** A provider answering from the response cache, else from the run's stored batch answers; never calls the API. */
function batchAnswerProvider(base: Provider, options: AnswerOptions): Provider {
  return wrapProvider(base, {
    async wrapComplete({ request }): Promise<LlmResult> {
      const key = cacheKey(base, request);
      const hit = options.cache?.get(key);
      if (hit) return { ...hit, cached: true };
      const answer = options.batchStore.latestAnswer(options.runId, key);
      if (!answer || answer.status === 'pending') {
        options.onNotReady();
        throw new LlmCallError(
          `${base.id}: ${answer ? `request still pending in batch ${answer.batchId}` : 'request not submitted to a batch'}`,
          { retryable: false },
        );
      }
      if (answer.status !== 'succeeded') {
        throw new LlmCallError(
          `${base.id}: batch ${answer.batchId}: request ${answer.status}: ${answer.error ?? 'no reason given'}`,
          { retryable: false },
        );
      }
      const result = options.client.readResponse(request, answer.body, answer.batchId);
      if (!options.deliver) return result;
      if (options.delivered.has(key)) {
        const { batchId: _batchId, ...repeat } = result;
        return { ...repeat, cached: true };
      }
      options.delivered.add(key);
      if (options.cache && hasRequestedLogprobs(request, result)) {
        const { batchId: _batchId, ...plain } = result;
        options.cache.set(key, base.id, plain);
      }
      return result;
    },
  });
}

/** Prompt tokens of a request by the run's tokenizer (+4 a message for the chat format's framing). */
function promptTokenEstimate(request: LlmRequest, countTokens: (text: string) => number): number {
  if (request.prompt !== undefined) return countTokens(request.prompt);
  return (request.messages ?? []).reduce((sum, message) => sum + 4 + countTokens(message.content), 0);
}

/** Splits items into batches under the client's request and byte limits. */
function chunkItems<T extends BatchItem>(items: readonly T[], client: BatchClient): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = client.itemBytes(item);
    if (current.length > 0 && (current.length >= client.limits.maxRequests || bytes + size > client.limits.maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A 404 from the Batch API: the batch (or its results) no longer exists there; waiting would never end. */
const isGone = (error: unknown) => error instanceof LlmCallError && error.details.status === 404;
const errorText = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);

function anySignal(signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length === 0) return undefined;
  return present.length === 1 ? present[0] : AbortSignal.any(present);
}

type Role = 'explainer' | 'simulator' | 'judge';
type Needs = Map<FeatureRecord, LlmRequest[]>;

/**
 * The scorers as collection runs them: those with a judge as they are (their requests are what is collected), the
 * others skipped (they make no LLM calls; the simulation still runs for them, its requests collected).
 */
const collectionScorers = (scorers: readonly Scorer[]): Scorer[] =>
  scorers.map((scorer) => (scorer.needs.judge ? scorer : { ...scorer, score: async () => null }));

export async function runBatchMode(options: BatchModeOptions): Promise<BatchModeOutcome> {
  const { runId, batchStore, context, clients } = options;
  const roles: Record<Role, Provider> = {
    explainer: context.explainer,
    simulator: context.simulator,
    judge: context.judge ?? context.simulator,
  };
  const stopOrAbort = anySignal([options.stopSignal, options.signal]);
  const collectionContext: FeatureContext = {
    config: context.config,
    explainer: context.explainer,
    simulator: context.simulator,
    explainTemplate: context.explainTemplate,
    simulateTemplate: context.simulateTemplate,
    countTokens: context.countTokens,
    scorers: collectionScorers(context.scorers),
    ...(context.judge ? { judge: context.judge } : {}),
    ...(context.models ? { models: context.models } : {}),
  };
  const lookup = (role: Role, deliver: boolean, delivered: Set<string>, onNotReady: () => void) =>
    batchAnswerProvider(roles[role], {
      runId,
      batchStore,
      client: clients[role],
      ...(options.cache ? { cache: options.cache } : {}),
      deliver,
      delivered,
      onNotReady,
    });

  /**
   * The requests each feature's unit of work makes to each of the `collecting` roles, given `explainer` for the
   * explanations; with `answers`, those it makes once the requests `answers` can answer (per role) are answered.
   */
  async function collect(
    features: readonly FeatureRecord[],
    collecting: readonly Role[],
    explainer?: Provider,
    answers?: Partial<Record<Role, Provider>>,
    config: PipelineConfig = collectionContext.config,
  ): Promise<Record<Role, Needs>> {
    const needs: Record<Role, Needs> = { explainer: new Map(), simulator: new Map(), judge: new Map() };
    for (const feature of features) {
      const sinks: Record<Role, LlmRequest[]> = { explainer: [], simulator: [], judge: [] };
      const provider = (role: Role): Provider => {
        if (!collecting.includes(role)) return role === 'explainer' ? (explainer ?? roles.explainer) : roles[role];
        const answering = answers?.[role];
        return answering
          ? answeringCollector(roles[role], answering, sinks[role])
          : collectingProvider(roles[role], sinks[role]);
      };
      await processFeature(feature, {
        ...collectionContext,
        config,
        explainer: provider('explainer'),
        simulator: provider('simulator'),
        ...(context.judge ? { judge: provider('judge') } : {}),
      });
      for (const role of collecting) if (sinks[role].length > 0) needs[role].set(feature, sinks[role]);
    }
    return needs;
  }

  /** Upper-bound cost of requests at the batch price (prompt estimate + the whole completion budget); cache hits 0. */
  function estimateUsd(role: Role, requests: readonly LlmRequest[], prices: PriceTable): number {
    let total = 0;
    for (const request of requests) {
      if (options.cache?.get(cacheKey(roles[role], request))) continue;
      const usage = {
        promptTokens: promptTokenEstimate(request, context.countTokens),
        completionTokens: Math.max(0, request.maxTokens),
      };
      total += prices.costOf(roles[role].id, usage, false, true) ?? 0;
    }
    return total;
  }

  /** True when one of a feature's requests is pending or answered in a batch of this run (its cost is committed). */
  const alreadySubmitted = (role: Role, requests: readonly LlmRequest[]) =>
    requests.some((request) => {
      const status = batchStore.latestAnswer(runId, cacheKey(roles[role], request))?.status;
      return status === 'pending' || status === 'succeeded';
    });

  /**
   * Which features this invocation takes on: all; or, with a budget, those already committed (a request pending or
   * answered in a batch), then the others in order while spend + the upper-bound estimate of everything they need
   * (answered requests included: they are paid but not yet in llm_calls) fits.
   */
  async function admit(explainNeeds: Needs): Promise<{ admitted: Set<FeatureRecord>; deferred: number }> {
    const candidates = [...explainNeeds.keys()];
    if (!options.budget) return { admitted: new Set(candidates), deferred: 0 };
    const { prices, maxCostUsd } = options.budget;
    const placeholder = Array.from({ length: EXPLANATION_MAX_TOKENS }, () => 'word').join(' ');
    const estimates = await collect(
      candidates,
      ['simulator', 'judge'],
      fixedTextProvider(roles.explainer, placeholder),
    );
    // Best-of-n: the requests above are the candidates' calibration simulations (the choice waits for their answers);
    // the winner's held-out simulation and the judges' requests are those of a one-shot explanation, added.
    const { config } = collectionContext;
    const oneShot =
      config.explanations > 1 || config.revise > 0
        ? await collect(
            candidates,
            ['simulator', 'judge'],
            fixedTextProvider(roles.explainer, placeholder),
            undefined,
            { ...config, explanations: 1, revise: 0 },
          )
        : undefined;
    // Revisions (`--revise K`): K revise requests (a prompt bounded by the prompt builder, the whole completion
    // budget) and K calibration simulations of a revision (those of one candidate).
    const oneCandidate =
      config.revise > 0
        ? await collect(candidates, ['simulator'], fixedTextProvider(roles.explainer, placeholder), undefined, {
            ...config,
            explanations: 1,
          })
        : undefined;
    const reviseTemplate = loadReviseTemplate();
    const revisionsUsd = (feature: FeatureRecord) => {
      if (config.revise === 0) return 0;
      const calibration = featureSplits(feature, config)
        .filter((split) => split.split === 'calibration')
        .map((split) => split.record);
      const usage = {
        promptTokens: revisePromptTokenBound(calibration, placeholder, reviseTemplate, context.countTokens),
        completionTokens: EXPLANATION_MAX_TOKENS,
      };
      const revise = prices.costOf(roles.explainer.id, usage, false, true) ?? 0;
      return config.revise * (revise + estimateUsd('simulator', oneCandidate?.simulator.get(feature) ?? [], prices));
    };
    const committed = candidates.filter((feature) => alreadySubmitted('explainer', explainNeeds.get(feature)!));
    let spent = options.budget.spentUsd;
    const admitted = new Set<FeatureRecord>();
    const cost = (feature: FeatureRecord) =>
      estimateUsd('explainer', explainNeeds.get(feature)!, prices) +
      estimateUsd('simulator', estimates.simulator.get(feature) ?? [], prices) +
      estimateUsd('judge', estimates.judge.get(feature) ?? [], prices) +
      estimateUsd('simulator', oneShot?.simulator.get(feature) ?? [], prices) +
      estimateUsd('judge', oneShot?.judge.get(feature) ?? [], prices) +
      revisionsUsd(feature);
    for (const feature of committed) {
      admitted.add(feature);
      spent += cost(feature);
    }
    for (const feature of candidates) {
      if (admitted.has(feature)) continue;
      const next = cost(feature);
      if (spent + next > maxCostUsd) break; // in order: the features left are the next run's
      admitted.add(feature);
      spent += next;
    }
    return { admitted, deferred: candidates.length - admitted.size };
  }

  /** Sends what is not answered yet, then waits for every batch this phase needs (of every role given). */
  async function settle(
    phase: BatchPhase,
    needsByRole: readonly (readonly [Role, Needs])[],
  ): Promise<BatchStopReason | undefined> {
    const waitOn = new Set<number>();
    for (const [role, needs] of needsByRole) {
      // A revise request (the explainer's, batched among the simulations) is recorded as an explain request.
      const stopped = await submit(role === 'explainer' ? 'explain' : phase, role, needs, waitOn);
      if (stopped) return stopped;
    }
    return waitFor([...waitOn]);
  }

  /** Sends what is not answered yet; adds the batch rows to wait for to `waitOn`. */
  async function submit(
    phase: BatchPhase,
    role: Role,
    needs: Needs,
    waitOn: Set<number>,
  ): Promise<BatchStopReason | undefined> {
    const client = clients[role];
    const providerId = roles[role].id;
    const byKey = new Map<string, { request: LlmRequest; features: string[] }>();
    for (const [feature, requests] of needs) {
      for (const request of requests) {
        const key = cacheKey(roles[role], request);
        const entry = byKey.get(key);
        if (entry) entry.features.push(featureKey(feature.id));
        else byKey.set(key, { request, features: [featureKey(feature.id)] });
      }
    }
    const toSubmit: Array<BatchItem & { features: string[] }> = [];
    let answered = 0;
    for (const [key, entry] of byKey) {
      if (options.cache?.get(key)) {
        answered += 1;
        continue;
      }
      const answer = batchStore.latestAnswer(runId, key);
      if (answer?.status === 'succeeded') answered += 1;
      else if (answer?.status === 'pending') waitOn.add(answer.batchRow);
      else toSubmit.push({ customId: key, request: entry.request, features: entry.features });
    }
    options.onBatch?.({
      kind: 'collected',
      phase,
      requests: byKey.size,
      answered,
      pending: byKey.size - answered - toSubmit.length,
      toSubmit: toSubmit.length,
    });
    const byEndpoint = new Map<string, typeof toSubmit>();
    for (const item of toSubmit) {
      const endpoint = client.endpointOf(item.request);
      const group = byEndpoint.get(endpoint);
      if (group) group.push(item);
      else byEndpoint.set(endpoint, [item]);
    }
    for (const items of byEndpoint.values()) {
      for (const chunk of chunkItems(items, client)) {
        if (stopOrAbort?.aborted) return 'signal';
        const submitted = await retryCall(
          () =>
            client.submit(chunk, {
              metadata: { autointerp_run: String(runId), autointerp_phase: phase },
              ...(options.signal ? { signal: options.signal } : {}),
            }),
          options.signal,
          options.retry,
        );
        const row = batchStore.recordBatch(
          {
            runId,
            provider: providerId,
            api: client.api,
            batchId: submitted.batchId,
            phase,
            endpoint: submitted.endpoint,
            ...(submitted.inputFileId ? { inputFileId: submitted.inputFileId } : {}),
            status: submitted.status,
          },
          chunk.map((item) => ({ customId: item.customId, features: item.features })),
        );
        waitOn.add(row);
        options.onBatch?.({
          kind: 'submitted',
          phase,
          provider: providerId,
          batchId: submitted.batchId,
          requests: chunk.length,
        });
      }
    }
    return undefined;
  }

  const clientOfRow = (provider: string): BatchClient =>
    [clients.explainer, clients.simulator, clients.judge].find((client) => client.providerId === provider) ??
    clients.explainer;

  /** Polls the batches until all have ended and are stored, or the wait is over. */
  async function waitFor(rows: number[]): Promise<BatchStopReason | undefined> {
    const started = Date.now();
    const pending = new Set(rows);
    let delay = options.pollMs;
    /** Stores an ended batch's outcomes (`missing`: the reason of requests without one) and stops polling it. */
    const ingest = (
      rowId: number,
      row: NonNullable<ReturnType<BatchStore['getBatch']>>,
      outcomes: BatchItemOutcome[],
      missing: string,
    ) => {
      const stored = batchStore.ingestBatch(rowId, outcomes, missing);
      options.onBatch?.({
        kind: 'ingested',
        phase: row.phase,
        provider: row.provider,
        batchId: row.batch_id,
        ...stored,
      });
      pending.delete(rowId);
    };
    while (pending.size > 0) {
      let changed = false;
      for (const rowId of [...pending]) {
        const row = batchStore.getBatch(rowId)!;
        const client = clientOfRow(row.provider);
        let state: BatchState;
        try {
          state = await retryCall(() => client.retrieve(row.batch_id, options.signal), options.signal, options.retry);
        } catch (error) {
          if (!isGone(error)) throw error;
          // The provider no longer knows the batch (deleted, another account): its requests fail, a resume resends them.
          batchStore.updateBatch(rowId, {
            status: 'not_found',
            ended: true,
            succeeded: 0,
            failed: row.request_count,
            error: errorText(error),
          });
          ingest(rowId, row, [], `batch ${row.batch_id} is gone at the provider: ${errorText(error)}`);
          continue;
        }
        const counts = { succeeded: state.counts.succeeded, failed: state.counts.failed };
        if (state.status !== row.status || counts.succeeded !== row.succeeded || counts.failed !== row.failed)
          changed = true;
        batchStore.updateBatch(rowId, {
          status: state.status,
          ended: state.ended,
          ...counts,
          ...(state.error ? { error: state.error } : {}),
        });
        options.onBatch?.({
          kind: 'polled',
          phase: row.phase,
          provider: row.provider,
          batchId: row.batch_id,
          state,
          waitedMs: Date.now() - started,
        });
        if (!state.ended) continue;
        let outcomes: BatchItemOutcome[];
        try {
          outcomes = await retryCall(() => client.results(row.batch_id, options.signal), options.signal, options.retry);
        } catch (error) {
          if (!isGone(error)) throw error;
          outcomes = []; // results no longer kept (expired output files): every request fails with the reason below
          state.error = `results are gone at the provider: ${errorText(error)}`;
        }
        const missing = `no result for this request in batch ${row.batch_id} (status ${state.status}${state.error ? `: ${state.error}` : ''})`;
        ingest(rowId, row, outcomes, missing);
      }
      if (pending.size === 0) break;
      if (stopOrAbort?.aborted) return 'signal';
      const remaining = options.maxWaitMs === undefined ? Infinity : options.maxWaitMs - (Date.now() - started);
      if (remaining <= 0) {
        options.onBatch?.({
          kind: 'left',
          batchIds: [...pending].map((rowId) => batchStore.getBatch(rowId)!.batch_id),
        });
        return 'batch-pending';
      }
      delay = changed ? options.pollMs : Math.min(delay * 1.5, options.pollMs * 10);
      try {
        await abortableSleep(Math.min(delay, remaining), stopOrAbort);
      } catch {
        return 'signal';
      }
    }
    return undefined;
  }

  // Phase 1: explain.
  const explainNeeds = (await collect(options.todo, ['explainer'])).explainer;
  const { admitted, deferred } = await admit(explainNeeds);
  const admittedNeeds = new Map([...explainNeeds].filter(([feature]) => admitted.has(feature)));
  let stoppedBy = await settle('explain', [['explainer', admittedNeeds]]);
  // Phase 2: simulate (and judge), from the explanations now stored.
  if (stoppedBy === undefined) {
    const explainAnswers = lookup('explainer', false, new Set(), () => {});
    const needs = await collect([...admitted], ['simulator', 'judge'], explainAnswers);
    stoppedBy = await settle('simulate', [
      ['simulator', needs.simulator],
      ['judge', needs.judge],
    ]);
    // Incomplete simulation answers are retried with fewer records per call, and a judged scorer may ask again once
    // it has answers: requests only earlier answers reveal, batched in further rounds (requests already sent,
    // answered or not, are left to a resume, as in one round).
    // Revisions (`--revise K`) are such requests too: each revise request waits for its parent's calibration answers,
    // and the revision's calibration simulation for the revise answer — two more rounds per revision.
    // Requests this invocation has sent are not sent again (one that failed is left to a resume); one pending in, or
    // failed by, an earlier invocation's batch is waited for, or resubmitted, as in the first round.
    const sent = new Set<string>();
    const noteSent = (role: Role, needs: Needs) => {
      for (const requests of needs.values()) for (const request of requests) sent.add(cacheKey(roles[role], request));
    };
    noteSent('explainer', admittedNeeds);
    noteSent('simulator', needs.simulator);
    noteSent('judge', needs.judge);
    const rounds = MAX_SPLIT_ROUNDS + 2 * collectionContext.config.revise;
    for (let round = 0; stoppedBy === undefined && round < rounds; round++) {
      const answers = {
        explainer: explainAnswers,
        simulator: lookup('simulator', false, new Set(), () => {}),
        judge: lookup('judge', false, new Set(), () => {}),
      };
      const revealed = await collect([...admitted], ['explainer', 'simulator', 'judge'], explainAnswers, answers);
      const unsent = (['explainer', 'simulator', 'judge'] as const).map((role): [Role, Needs] => {
        const fresh: Needs = new Map();
        for (const [feature, requests] of revealed[role]) {
          const unanswered = requests.filter((request) => {
            const key = cacheKey(roles[role], request);
            return (
              !options.cache?.get(key) && batchStore.latestAnswer(runId, key)?.status !== 'succeeded' && !sent.has(key)
            );
          });
          if (unanswered.length > 0) fresh.set(feature, unanswered);
        }
        return [role, fresh];
      });
      if (unsent.every(([, fresh]) => fresh.size === 0)) break;
      for (const [role, fresh] of unsent) noteSent(role, fresh);
      stoppedBy = await settle('simulate', unsent);
    }
  }
  // Phase 3: score and save every feature whose answers are all in (no live call is made).
  if (!options.signal?.aborted) {
    let notReady = false;
    const delivered = new Set<string>();
    const explainer = lookup('explainer', true, delivered, () => (notReady = true));
    const simulator = lookup('simulator', true, delivered, () => (notReady = true));
    const judge = lookup('judge', true, delivered, () => (notReady = true));
    const finalContext: FeatureContext = { ...context, explainer, simulator, ...(context.judge ? { judge } : {}) };
    for (const feature of options.todo) {
      if (explainNeeds.has(feature) && !admitted.has(feature)) continue; // over the budget: left for later
      notReady = false;
      const processed = await processFeature(feature, finalContext);
      if (notReady) continue; // an answer is still pending: the feature is done on resume
      options.save(processed);
    }
  }
  const reason = stoppedBy ?? (deferred > 0 ? 'budget' : undefined);
  return reason ? { stoppedBy: reason } : {};
}
