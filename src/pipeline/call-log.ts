/**
 * @module pipeline/call-log — a provider that notes every call a unit of work makes (usage, cost, latency, outcome,
 * and its purpose: `explain`, `simulate` or a scorer's name) for the run's accounting and progress.
 */
import type { LlmResult, LlmUsage, Provider } from '../llm/types.ts';
import { wrapProvider } from '../llm/wrap-provider.ts';
import type { LlmCallRow } from '../store/result-store.ts';

export type CallEvent = { phase: 'start'; purpose: LlmCallRow['purpose'] } | { phase: 'end'; call: LlmCallRow };

export interface CallLogOptions {
  /** Cost of a call in USD (null: price unknown; 0 for cached answers; batch answers at the batch price). Default: null. */
  costOf?(providerId: string, usage: LlmUsage, cached: boolean, batch: boolean): number | null;
  /** Told when a call starts and ends (progress: calls in flight, tokens, spend). */
  onCall?(event: CallEvent): void;
}

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The same provider, noting every call in `calls` under `purpose`. */
export function withCallLog(
  provider: Provider,
  purpose: LlmCallRow['purpose'],
  calls: LlmCallRow[],
  options: CallLogOptions,
): Provider {
  return wrapProvider(provider, {
    async wrapComplete({ complete }): Promise<LlmResult> {
      const started = performance.now();
      options.onCall?.({ phase: 'start', purpose });
      const row: LlmCallRow = {
        runId: null,
        featureId: null,
        provider: provider.id,
        purpose,
        promptTokens: 0,
        completionTokens: 0,
        costUsd: null,
        latencyMs: 0,
        cached: false,
        status: 'ok',
      };
      try {
        const result = await complete();
        row.promptTokens = result.usage.promptTokens;
        row.completionTokens = result.usage.completionTokens;
        row.cached = result.cached;
        row.costUsd = options.costOf?.(provider.id, result.usage, result.cached, result.batchId !== undefined) ?? null;
        if (result.batchId !== undefined) row.batchId = result.batchId;
        return result;
      } catch (error) {
        row.status = `error: ${errorMessage(error).slice(0, 200)}`;
        throw error;
      } finally {
        row.latencyMs = performance.now() - started;
        calls.push(row);
        options.onCall?.({ phase: 'end', call: row });
      }
    },
  });
}
