/**
 * @module store/migrations — the SQLite schema (docs/DESIGN.md §7), versioned with PRAGMA user_version. A migration is
 * appended, never edited; the database records which ones it has. A migration is SQL, or a function for the data
 * conversions SQL cannot express.
 */
import type { Database } from 'better-sqlite3';
import { toFloat32Column } from './float32-column.ts';
import { RecordWindowWriter } from './record-windows.ts';

export type Migration = string | ((db: Database) => void);

export const migrations: readonly Migration[] = [
  // 1: the core tables.
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    config TEXT NOT NULL,            -- JSON, secrets stripped
    code_version TEXT NOT NULL,
    prompt_versions TEXT NOT NULL,   -- JSON {explain, simulate}
    explainer TEXT NOT NULL,         -- provider:model
    simulator TEXT NOT NULL,         -- provider:model
    is_baseline INTEGER NOT NULL,    -- 1 when explainer or simulator is the offline baseline
    source TEXT NOT NULL,            -- where the feature records came from
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted', 'failed'))
  );
  CREATE TABLE features (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    layer TEXT NOT NULL,             -- layer index or hook name, as text
    kind TEXT NOT NULL CHECK (kind IN ('neuron', 'sae')),
    idx INTEGER NOT NULL,
    sae TEXT NOT NULL DEFAULT '',
    max_activation REAL,
    density REAL,
    mean REAL,
    variance REAL,
    UNIQUE (model, layer, kind, idx, sae)
  );
  CREATE TABLE run_features (        -- one row per finished unit of work: resume is a query for what is missing
    run_id INTEGER NOT NULL REFERENCES runs(id),
    feature_id INTEGER NOT NULL REFERENCES features(id),
    status TEXT NOT NULL CHECK (status IN ('scored', 'skipped', 'failed')),
    stage TEXT,                      -- explain | simulate | score, for failures
    reason TEXT,                     -- why skipped or failed
    finished_at TEXT NOT NULL,
    PRIMARY KEY (run_id, feature_id)
  );
  CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    feature_id INTEGER NOT NULL REFERENCES features(id),
    split TEXT NOT NULL CHECK (split IN ('explain', 'calibration', 'score')),
    source TEXT NOT NULL,            -- top | random | quantile-<i>
    position INTEGER NOT NULL,
    tokens TEXT NOT NULL,            -- JSON array of strings
    activations TEXT NOT NULL        -- JSON array of raw activations
  );
  CREATE INDEX records_by_feature ON records (run_id, feature_id);
  CREATE TABLE explanations (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    feature_id INTEGER NOT NULL REFERENCES features(id),
    text TEXT NOT NULL,
    explainer TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    is_baseline INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (run_id, feature_id)
  );
  CREATE TABLE simulations (
    id INTEGER PRIMARY KEY,
    explanation_id INTEGER NOT NULL REFERENCES explanations(id),
    record_id INTEGER NOT NULL REFERENCES records(id),
    simulator TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('prompt-logprobs', 'chat-logprobs', 'sampled')),
    prompt_version TEXT NOT NULL,
    scale TEXT NOT NULL DEFAULT 'normalized-0-10',
    expected TEXT NOT NULL,          -- JSON array, null where the simulator gave no number
    UNIQUE (explanation_id, record_id)
  );
  CREATE TABLE scores (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    feature_id INTEGER NOT NULL REFERENCES features(id),
    explanation_id INTEGER REFERENCES explanations(id),  -- null when there was nothing to explain
    kind TEXT NOT NULL,              -- correlation.all | correlation.top | correlation.random | rsquared.all | absdev.all
    value REAL,                      -- null when undefined; then reason says why
    reason TEXT,
    n_tokens INTEGER NOT NULL,
    n_missing INTEGER NOT NULL,
    simulation_mode TEXT,            -- null when nothing was simulated
    UNIQUE (run_id, feature_id, kind)
  );
  CREATE TABLE llm_cache (
    key TEXT PRIMARY KEY,            -- sha256 of provider, model and request body (never the API key)
    provider TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE llm_calls (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id),
    feature_id INTEGER REFERENCES features(id),
    provider TEXT NOT NULL,
    purpose TEXT NOT NULL,           -- explain | simulate
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL,
    latency_ms REAL NOT NULL,
    cached INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  // 2: runs can be tagged (JSON array of strings), for compare / regress / leaderboards.
  `ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';`,
  // 3: a digest of the feature records a run was started on, so a resume on changed input is refused.
  `ALTER TABLE runs ADD COLUMN source_digest TEXT;`,
  // 4: provider Batch APIs (`run --batch`): each batch submitted, each request of it and its outcome; llm_calls say
  // which batch answered a call (priced at the batch rate).
  `
  CREATE TABLE llm_batches (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    provider TEXT NOT NULL,          -- provider:model whose requests it holds
    api TEXT NOT NULL,               -- openai | anthropic (which Batch API)
    batch_id TEXT NOT NULL,          -- the provider's id of the batch
    phase TEXT NOT NULL CHECK (phase IN ('explain', 'simulate')),
    endpoint TEXT NOT NULL,          -- /v1/chat/completions | /v1/completions | /v1/messages
    input_file_id TEXT,              -- OpenAI: the uploaded JSONL file
    status TEXT NOT NULL,            -- the provider's status word as last seen (validating, in_progress, completed, ended, …)
    ended INTEGER NOT NULL DEFAULT 0, -- 1 once the provider says it will change no more
    ingested INTEGER NOT NULL DEFAULT 0, -- 1 once every request's outcome is stored in llm_batch_requests
    request_count INTEGER NOT NULL,
    succeeded INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, -- errored, expired or canceled requests
    error TEXT,                      -- a batch-level failure (e.g. input validation)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (api, batch_id)
  );
  CREATE INDEX llm_batches_by_run ON llm_batches (run_id, ingested);
  CREATE TABLE llm_batch_requests (
    batch INTEGER NOT NULL REFERENCES llm_batches(id),
    custom_id TEXT NOT NULL,         -- sent as custom_id; it is the response-cache key of the request
    features TEXT NOT NULL,          -- JSON array of the feature keys that need this answer
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'errored', 'expired', 'canceled')),
    response TEXT,                   -- the provider's response body (JSON) when succeeded
    error TEXT,                      -- why not, otherwise
    PRIMARY KEY (batch, custom_id)
  );
  CREATE INDEX llm_batch_requests_by_custom_id ON llm_batch_requests (custom_id);
  ALTER TABLE llm_calls ADD COLUMN batch_id TEXT;  -- the provider batch that answered, null for live calls
  `,
  // 5: sparse autoencoders (their features' ids name them) and their quality metrics per evaluation split.
  `
  CREATE TABLE saes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,       -- the name feature ids carry (FeatureId.sae)
    model TEXT NOT NULL,             -- subject model
    hook TEXT NOT NULL,              -- hook point it reads
    architecture TEXT NOT NULL,      -- standard | topk
    d_in INTEGER NOT NULL,
    d_sae INTEGER NOT NULL,
    k INTEGER,                       -- topk only
    l1_coefficient REAL,             -- standard only
    path TEXT,                       -- the SAELens folder
    weights_digest TEXT,             -- sha256 of its weights file
    training TEXT,                   -- JSON: options, steps, tokens, seconds (null for an imported SAE)
    density_histogram TEXT,          -- JSON log-density histogram of the latest evaluation
    updated_at TEXT NOT NULL
  );
  CREATE TABLE sae_metrics (
    sae_id INTEGER NOT NULL REFERENCES saes(id),
    split TEXT NOT NULL,             -- what it was measured on, e.g. heldout
    metric TEXT NOT NULL,            -- l0 | mse | fvu | explained_variance | dead_fraction | dense_fraction | ce_original | ce_reconstructed | ce_zero_ablated | ce_loss_recovered | kl_divergence | kl_score
    value REAL,                      -- null when undefined (e.g. FVU of constant inputs)
    n_tokens INTEGER NOT NULL,
    PRIMARY KEY (sae_id, split, metric)
  );
  `,
  // 6: records.activations and simulations.expected become little-endian float32 BLOBs (store/float32-column).
  (db) => {
    db.function('autointerp_float32_column', { deterministic: true }, (stored: unknown) => toFloat32Column(stored));
    db.exec(
      `UPDATE records SET activations = autointerp_float32_column(activations) WHERE typeof(activations) = 'text'`,
    );
    db.exec(`UPDATE simulations SET expected = autointerp_float32_column(expected) WHERE typeof(expected) = 'text'`);
  },
  // 7: which process holds a run while it runs (store/run-lease): a second `run --resume` of it is refused, a stale
  // holder (its process gone, or no heartbeat for the lease's time to live) is taken over.
  `
  CREATE TABLE run_leases (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    holder TEXT NOT NULL,            -- a random token of the holding invocation
    host TEXT NOT NULL,              -- os.hostname() of the holder
    pid INTEGER NOT NULL,            -- its process id on that host
    acquired_at INTEGER NOT NULL,    -- Unix time in milliseconds
    heartbeat_at INTEGER NOT NULL    -- Unix ms, renewed while the run goes on; older than the time to live = stale
  );
  `,
  // 8: the simulation protocol beside the mode: how many of a feature's records one simulation call held (null: all
  // of them, split only where the simulator's context required; 1: the reference's one record a prompt). Leaderboards
  // never pool rows of different protocols.
  `
  ALTER TABLE simulations ADD COLUMN records_per_call INTEGER;
  ALTER TABLE scores ADD COLUMN records_per_call INTEGER;
  `,
  // 9: scorers beyond simulation (score/scorer.ts): the version of the scorer's own prompt file with each score
  // (detection.v1; null for scores read from the simulation), and what a judge answered per example, next to the
  // truth, for the report's feature cards and the viewer (JSON array of score/scorer.ts `Judgement`).
  `
  ALTER TABLE scores ADD COLUMN prompt_version TEXT;
  CREATE TABLE judgements (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    feature_id INTEGER NOT NULL REFERENCES features(id),
    scorer TEXT NOT NULL,            -- the scorer's name (detection, fuzzing, intervention)
    judge TEXT NOT NULL,             -- provider:model of the judge
    prompt_version TEXT NOT NULL,
    examples TEXT NOT NULL,          -- JSON array: tokens, highlighted, source, truth, predicted, probability
    PRIMARY KEY (run_id, feature_id, scorer)
  );
  `,
  // 10: the viewer (autointerp serve): full-text search over explanations (FTS5, external content, kept up to date
  // by triggers on every insert, update and delete, so merges and runs fill it too), and the index its keyset
  // pagination by score walks: (run, kind, value, feature) answers "the next page after (value, feature)" by a seek.
  `
  CREATE VIRTUAL TABLE explanations_fts USING fts5(text, content = 'explanations', content_rowid = 'id');
  INSERT INTO explanations_fts (explanations_fts) VALUES ('rebuild');
  CREATE TRIGGER explanations_fts_insert AFTER INSERT ON explanations BEGIN
    INSERT INTO explanations_fts (rowid, text) VALUES (new.id, new.text);
  END;
  CREATE TRIGGER explanations_fts_delete AFTER DELETE ON explanations BEGIN
    INSERT INTO explanations_fts (explanations_fts, rowid, text) VALUES ('delete', old.id, old.text);
  END;
  CREATE TRIGGER explanations_fts_update AFTER UPDATE OF text ON explanations BEGIN
    INSERT INTO explanations_fts (explanations_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO explanations_fts (rowid, text) VALUES (new.id, new.text);
  END;
  CREATE INDEX scores_by_run_kind_value ON scores (run_id, kind, value, feature_id);
  `,
  // 11: best-of-n explanations (`run --explanations N`, `--revise K`; pipeline/explanation-search.ts): every
  // candidate of a feature, with the candidate it revised, its correlation on the calibration split (what it was
  // selected on) and on the score split where measured (the winner; every candidate with --score-all-candidates).
  // `explanations` keeps one row per feature: the winner.
  `
  CREATE TABLE explanation_candidates (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    feature_id INTEGER NOT NULL REFERENCES features(id),
    candidate INTEGER NOT NULL,      -- 0-based, in the order made
    parent INTEGER,                  -- the candidate a revision revised; null for samples
    kind TEXT NOT NULL CHECK (kind IN ('sample', 'revision')),
    text TEXT NOT NULL,
    prompt_version TEXT NOT NULL,    -- explain.vN for samples, revise.vN for revisions
    calibration_score REAL,          -- correlation on the calibration split; null when undefined (reason not kept)
    held_out_score REAL,             -- correlation.all on the score split, where it was simulated there
    selected INTEGER NOT NULL,       -- 1 for the winner (the feature's explanations row)
    PRIMARY KEY (run_id, feature_id, candidate)
  );
  `,
  // 12: a window (tokens and activations) is stored once per feature, not once per run (store/record-windows.ts):
  // `record_windows` holds it, found by (feature, digest of its content); `records` keeps each run's use of it (split,
  // source, position) and points at it. The records table is rebuilt without its own tokens and activations (rows
  // keep their ids: simulations refer to them), each row's window found or added in one pass, equal windows of a
  // feature becoming one row. Runs with foreign keys off (store/database `migrate`), as a table rebuild must.
  (db) => {
    db.exec(`
      CREATE TABLE record_windows (
        id INTEGER PRIMARY KEY,
        feature_id INTEGER NOT NULL REFERENCES features(id),
        digest BLOB NOT NULL,          -- sha256 of the tokens' JSON, a NUL byte and the activations' bytes
        tokens TEXT NOT NULL,          -- JSON array of strings
        activations BLOB NOT NULL,     -- little-endian float32 (store/float32-column)
        UNIQUE (feature_id, digest)
      );
      CREATE TABLE records_with_windows (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        feature_id INTEGER NOT NULL REFERENCES features(id),
        split TEXT NOT NULL CHECK (split IN ('explain', 'calibration', 'score')),
        source TEXT NOT NULL,          -- top | random | quantile-<i>
        position INTEGER NOT NULL,
        window_id INTEGER NOT NULL REFERENCES record_windows(id)
      );
    `);
    const windows = new RecordWindowWriter(db);
    const page = db.prepare(
      'SELECT id, run_id, feature_id, split, source, position, tokens, activations FROM records WHERE id > ? ORDER BY id LIMIT 10000',
    );
    const insert = db.prepare(
      'INSERT INTO records_with_windows (id, run_id, feature_id, split, source, position, window_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    type OldRecord = [number, number, number, string, string, number, string, unknown];
    for (let after = Number.MIN_SAFE_INTEGER; ; ) {
      const rows = page.raw().all(after) as OldRecord[];
      if (rows.length === 0) break;
      for (const [id, runId, featureId, split, source, position, tokens, activations] of rows) {
        const windowId = windows.idOfStored(featureId, tokens, toFloat32Column(activations));
        insert.run(id, runId, featureId, split, source, position, windowId);
      }
      after = rows.at(-1)![0];
    }
    const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    const [before, after] = [count('records'), count('records_with_windows')];
    // every record kept, with its id, is what keeps simulations' references to records whole
    if (before !== after) throw new Error(`migration 12: ${after} of ${before} records rebuilt`);
    db.exec(`
      DROP TABLE records;
      ALTER TABLE records_with_windows RENAME TO records;
      CREATE INDEX records_by_feature ON records (run_id, feature_id);
    `);
  },
  // 13: the viewer's text search from the matching explanations (store/viewer-queries.ts): from an FTS5 match (an
  // explanation id) to its run and feature, and from there to a score's value, each in a narrow covering index — a
  // lookup a match reads one small index page, not a row of explanations and a row of scores (measured by
  // bench/serve.ts: 3–10 times fewer page reads at 10^6 features).
  `
  CREATE INDEX explanations_keys ON explanations (id, run_id, feature_id);
  CREATE INDEX scores_by_run_kind_feature ON scores (run_id, kind, feature_id, value);
  `,
];
