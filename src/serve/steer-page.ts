/**
 * @module serve/steer-page — `/steer?feature=ID&value=V&prompt=TEXT&tokens=N`: a GET form (bookmarkable; it writes
 * nothing anywhere) that generates the prompt's greedy continuation with and without the feature clamped to V at
 * every position (subject/steer), for features of a model the viewer can load.
 */
import { escapeHtml } from '../report/html-escape.ts';
import { storedFeatureKey } from '../store/queries.ts';
import { viewerFeature } from '../store/viewer-queries.ts';
import { fixed, href } from './html-page.ts';
import { ViewerRequestError, type ViewerContext, type ViewerPage } from './viewer-context.ts';

const MAX_TOKENS = 64;
const DEFAULT_TOKENS = 20;
const DEFAULT_PROMPT = 'The';

export async function renderSteerPage(context: ViewerContext, parameters: URLSearchParams): Promise<ViewerPage> {
  const featureText = parameters.get('feature') ?? '';
  const featureId = Number(featureText);
  const feature = featureText !== '' && Number.isInteger(featureId) ? viewerFeature(context.db, featureId) : undefined;
  if (!feature) throw new ViewerRequestError(404, `feature: no feature "${featureText}" in this database`);
  if (!context.models?.canLoad(feature))
    throw new ViewerRequestError(
      404,
      `the viewer has no subject model "${feature.model}" to steer (serve --model DIR)`,
    );
  const valueText = parameters.get('value') ?? '';
  const prompt = parameters.get('prompt') ?? DEFAULT_PROMPT;
  const tokensText = parameters.get('tokens') ?? String(DEFAULT_TOKENS);
  const maxTokens = Number(tokensText);
  if (!(Number.isInteger(maxTokens) && maxTokens >= 1 && maxTokens <= MAX_TOKENS))
    throw new ViewerRequestError(400, `tokens: expected an integer from 1 to ${MAX_TOKENS}, got "${tokensText}"`);
  const defaultValue = feature.maxActivation !== null && feature.maxActivation > 0 ? 2 * feature.maxActivation : 10;
  const value = valueText === '' ? null : Number(valueText);
  if (value !== null && !Number.isFinite(value))
    throw new ViewerRequestError(400, `value: expected a number, got "${valueText}"`);
  const form =
    `<form class="filters" method="get" action="/steer"><input type="hidden" name="feature" value="${feature.featureId}">` +
    `<label>clamp value (raw activation units)<input type="number" step="any" name="value" id="steer-value" value="${escapeHtml(value ?? Number(defaultValue.toPrecision(3)))}"></label>` +
    `<label>prompt<input type="text" name="prompt" id="steer-prompt" size="40" value="${escapeHtml(prompt)}"></label>` +
    `<label>tokens<input type="number" name="tokens" min="1" max="${MAX_TOKENS}" value="${maxTokens}"></label>` +
    `<button type="submit">Generate</button></form>`;
  let output = '';
  if (value !== null) {
    try {
      const answer = await context.models.steer(context.db, feature, { value, prompt, maxTokens });
      output =
        `<p class="meta">${escapeHtml(`${feature.model}: ${answer.hook} #${feature.index} clamped to ${fixed(value, 3)} at every position; greedy, up to ${maxTokens} tokens`)}</p>` +
        `<div class="pair"><div><h3>without the clamp</h3><div class="generation" id="original">${escapeHtml(prompt)}<b>${escapeHtml(answer.original)}</b></div></div>` +
        `<div><h3>with the clamp</h3><div class="generation" id="clamped">${escapeHtml(prompt)}<b>${escapeHtml(answer.clamped)}</b></div></div></div>`;
    } catch (error) {
      throw new ViewerRequestError(400, `cannot steer this feature: ${(error as Error).message}`);
    }
  }
  return {
    title: `Steer ${storedFeatureKey(feature)}`,
    body: `<h1>Steer <a href="${href(`/feature/${feature.featureId}`)}">${escapeHtml(storedFeatureKey(feature))}</a></h1>${form}${output}`,
  };
}
