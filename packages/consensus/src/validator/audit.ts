/**
 * The audit rules: whether one answer is the one the reference model would give, decided from the
 * reference's teacher-forced scores of the answer (`app_scoreV1`) or its own embeddings (`app_embedV1`).
 * Pure: the caller fetches the scores; nothing here does I/O. A rule that fails names itself
 * ({@link AuditFailure}), so a verdict says why.
 *
 * Generate answers whose every token event carries the model's token ids (llama.cpp miners) are audited by
 * those ids ({@link auditTokensByIds}): the reference scores exactly the tokens the miner generated, not a
 * re-tokenisation of the text (a generation may emit a non-canonical token sequence, and a byte-level
 * model's partial UTF-8 bytes decode to U+FFFD or merge into one character), so nothing is lost to
 * alignment. The text check ties ids to text: the reference's pieces of the ids must join to the relayed
 * text, or to the text and then one of the request's stop sequences (the generation was cut there), else
 * TEXT_MISMATCH. Every rule below holds as stated, per token, with each event's logprob compared to the
 * sum of the reference's over the ids it covers.
 *
 * Generate answers without ids (Ollama, OpenAI-compatible backends: every check on the reference's
 * tokenisation of the answer's text):
 * - Logprobs: every token event with text must carry the logprob the miner computed (they are always asked
 *   for; only the backend's final flush of held text may lack one), and where a miner token covers the same
 *   characters as a reference token the two must agree within `tolerance` nats. For sampled answers the
 *   miner may report either the raw logprob (vLLM's default) or the probability after the sampler chain
 *   that defines the wire's sampling ({@link SAMPLING_TOP_K}: top-k, then top-p on the softmax of the
 *   survivors, then temperature, renormalised — llama.cpp's and node-llama-cpp's order): the latter is
 *   recomputed exactly from the reference's top {@link SAMPLING_TOP_K} logprobs. At least `minMatch` of the reference tokens must be compared
 *   (one less for the prompt boundary), so an answer cannot dodge the check by splitting text oddly.
 * - Greedy (temperature 0): each token must be the reference's argmax within `tolerance`.
 * - Sampled (temperature > 0, seed fixed): each token must be a plausible draw: inside the top-p nucleus and
 *   with a tempered probability at least `plausibleRatio` of the best token's, i.e. reference logprob ≥
 *   best + temperature × ln(plausibleRatio).
 *   Both hold for at least `minMatch` of the tokens (tokenisation differs at the prompt boundary).
 * - Length: finishReason 'length' needs as many tokens as the generation had room for (±1 for the tokeniser
 *   boundary): maxTokens, or fewer where the model's context ends first (contextLength - promptTokens, as
 *   the reference reports them); no answer may hold more than maxTokens (+1 without ids).
 * - Ending: finishReason 'stop' needs the reference to end there (its end-of-generation logprob within
 *   `tolerance` of the best for greedy, above the plausibility floor for sampled), unless one of the
 *   request's stop sequences is a plausible next piece of text there.
 *
 * Embeddings: one vector per input, each with cosine similarity ≥ `minCosine` to the reference's.
 */
import { SAMPLING_TOP_K } from '@subnet/engine-api';
import type { MinerToken, ReferenceToken } from './verify.js';

/** One token event of the miner's answer: {@link MinerToken} and the model token ids it covered, when sent. */
export interface AuditedToken extends MinerToken {
  ids?: readonly number[] | undefined;
}

/** Why an audit failed: one code per rule. */
export const AuditFailure = {
  /** A token event with text came without a logprob. */
  MISSING_LOGPROBS: 'MISSING_LOGPROBS',
  /** Greedy: too few tokens were the reference's argmax. */
  NOT_ARGMAX: 'NOT_ARGMAX',
  /** Sampled: too few tokens were plausible draws of the reference. */
  IMPLAUSIBLE: 'IMPLAUSIBLE',
  /** Reported logprobs disagree with the reference's. */
  LOGPROB_MISMATCH: 'LOGPROB_MISMATCH',
  /** Too few miner tokens line up with the reference's to compare logprobs. */
  UNALIGNED: 'UNALIGNED',
  /** finishReason 'length' with fewer than maxTokens tokens. */
  TRUNCATED: 'TRUNCATED',
  /** More tokens than maxTokens allows. */
  TOO_LONG: 'TOO_LONG',
  /** finishReason 'stop' where the reference would not end and no stop sequence explains it. */
  EARLY_STOP: 'EARLY_STOP',
  /** The answer's token ids do not decode to the text it relayed. */
  TEXT_MISMATCH: 'TEXT_MISMATCH',
  /** A structured answer (responseFormat) that ended on its own but does not meet its format. */
  FORMAT_VIOLATED: 'FORMAT_VIOLATED',
  /** A structured answer the reference, decoding under the same grammar and seed, does not reproduce. */
  NOT_REPRODUCED: 'NOT_REPRODUCED',
  /** Not one embedding per input, or vectors of another dimension. */
  EMBEDDING_SHAPE: 'EMBEDDING_SHAPE',
  /** An embedding's cosine similarity to the reference's is below the threshold. */
  EMBEDDING_OFF: 'EMBEDDING_OFF',
} as const;
export type AuditFailure = (typeof AuditFailure)[keyof typeof AuditFailure];

/** The verification record's audit statistics (`AuditSchema`). */
export interface AuditStats {
  tokens: number;
  /** Greedy: tokens that were the reference's argmax. Sampled: plausible draws. Embeddings: vectors on reference. */
  argmaxMatched: number;
  logprobsCompared: number;
  logprobsMatched: number;
  maxLogprobDiff: number | null;
  passed: boolean;
}

/** An audit's statistics, the rule that failed (null: passed) and a one-line reason. */
export interface Audit {
  stats: AuditStats;
  failure: AuditFailure | null;
  detail: string;
}

export interface GenerateAuditOpts {
  /** Nats: argmax tie margin and logprob match tolerance. */
  tolerance: number;
  /** Share of tokens that must pass each per-token check. */
  minMatch: number;
  /** A sampled token's tempered probability must be at least this share of the best token's. */
  plausibleRatio: number;
}

/** The request fields the rules read. */
export interface AuditedRequest {
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: readonly string[];
}

/** What the miner returned, as relayed. */
export interface AuditedAnswer {
  tokens: readonly AuditedToken[];
  finishReason: 'stop' | 'length' | null;
}

/** The reference's teacher-forced scores of the answer (`app_scoreV1` with `eos: true`). */
export interface ReferenceScore {
  tokens: readonly ReferenceToken[];
  eos?: { logprob: number; topLogprob: number } | null | undefined;
  /** The prompt's tokens as a generation counts them, and the model's context (the room an answer had). */
  promptTokens?: number | undefined;
  contextLength?: number | undefined;
}

/** The most tokens the answer could hold: maxTokens, or the room the context left after the prompt. */
export function roomFor(req: Pick<AuditedRequest, 'maxTokens'>, reference: ReferenceScore): number {
  const { promptTokens, contextLength } = reference;
  if (promptTokens === undefined || contextLength === undefined) return req.maxTokens;
  return Math.max(0, Math.min(req.maxTokens, contextLength - promptTokens));
}

/** The answer's token ids in order when every token event carries them (and there are some); else null. */
export function answerIds(answer: Pick<AuditedAnswer, 'tokens'>): number[] | null {
  if (answer.tokens.length === 0 || answer.tokens.some((t) => t.ids === undefined)) return null;
  const ids = answer.tokens.flatMap((t) => t.ids ?? []);
  return ids.length === 0 ? null : ids;
}

/**
 * How the text the reference decoded from the ids relates to the relayed `text`: 'same'; 'stop' when it is
 * the text and then one of the request's stop sequences (the generation was cut at that stop, so the
 * ids decode past the text); else 'mismatch'.
 */
export function textOfIds(
  decoded: string,
  text: string,
  req: Pick<AuditedRequest, 'stop'>,
  finishReason: AuditedAnswer['finishReason'],
): 'same' | 'stop' | 'mismatch' {
  if (decoded === text) return 'same';
  if (finishReason !== 'stop' || !decoded.startsWith(text)) return 'mismatch';
  // The backend cuts at the first stop sequence in the text: none may start before the cut.
  const rest = decoded.slice(text.length);
  const first = Math.min(
    ...req.stop.map((s) => decoded.indexOf(s)).filter((i) => i >= 0),
    Number.POSITIVE_INFINITY,
  );
  return first === text.length && req.stop.some((s) => rest.startsWith(s)) ? 'stop' : 'mismatch';
}

/** Character spans `[start, end)` of consecutive pieces of text. */
function spans(texts: readonly string[]): [number, number][] {
  let at = 0;
  return texts.map((t) => {
    const s: [number, number] = [at, at + t.length];
    at += t.length;
    return s;
  });
}

const logsumexp = (xs: readonly number[]): number => {
  const m = Math.max(...xs);
  return m === Number.NEGATIVE_INFINITY ? m : m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

/** The logprob floor of a plausible draw at `best` (the most likely token's raw logprob). */
export function plausibleFloor(best: number, temperature: number, ratio: number): number {
  return best + Math.max(temperature, 1e-6) * Math.log(ratio);
}

/** The wire's sampling top-k (engine-api): the reference is asked for this many top logprobs of a sampled token. */
export { SAMPLING_TOP_K };

/**
 * The token's logprob after the sampler chain a llama.cpp backend applies (top-k {@link SAMPLING_TOP_K}; top-p
 * over the softmax of those; temperature over the survivors, renormalised), from the reference's raw top
 * logprobs: exact when the reference gave at least `SAMPLING_TOP_K` of them, an estimate over fewer. This is
 * what such a backend reports as the chosen token's logprob. Null when the token falls outside the kept set
 * or there are no top logprobs.
 */
export function temperedLogprob(t: ReferenceToken, temperature: number, topP: number): number | null {
  const top = t.topLogprobs ?? [];
  if (top.length === 0 || temperature <= 0) return null;
  // Entries as given, not keyed by text: distinct tokens may share a text (byte pieces of UTF-8 decode to
  // the same replacement character), and every one of them is in the sampler's top-k. A drawn token the
  // list lacks tied the last kept one (the sampler kept it, the reference's sort kept another): it takes
  // that place; one below the list could not have been drawn.
  const sorted: [string, number][] = top
    .map((x): [string, number] => [x.token, x.logprob])
    .sort((a, b) => b[1] - a[1])
    .slice(0, SAMPLING_TOP_K);
  const same = ([tok, l]: [string, number]) => tok === t.token && Math.abs(l - t.logprob) < 1e-9;
  if (!sorted.some(same)) {
    const last = sorted[sorted.length - 1] as [string, number];
    if (sorted.length < SAMPLING_TOP_K) sorted.push([t.token, t.logprob]);
    else if (t.logprob >= last[1] - 1e-9) sorted[sorted.length - 1] = [t.token, t.logprob];
    else return null;
    sorted.sort((a, b) => b[1] - a[1]);
  }
  // top-p on the softmax of the top-k (llama.cpp keeps tokens until the cumulative mass reaches p).
  const z = logsumexp(sorted.map(([, l]) => l));
  const kept: [string, number][] = [];
  let mass = 0;
  for (const [tok, l] of sorted) {
    kept.push([tok, l]);
    mass += Math.exp(l - z);
    if (mass >= topP) break;
  }
  // A drawn token that tied the last kept one was kept by the sampler's order of equals: same mass.
  const lastKept = kept[kept.length - 1] as [string, number];
  const mine =
    kept.find(same) ?? (t.logprob >= lastKept[1] - 1e-9 ? ([t.token, t.logprob] as const) : undefined);
  if (mine === undefined) return null;
  return mine[1] / temperature - logsumexp(kept.map(([, l]) => l / temperature));
}

/** Whether the token is a plausible draw at `temperature`/`topP` (see the module header). */
export function plausibleDraw(
  t: ReferenceToken,
  req: Pick<AuditedRequest, 'temperature' | 'topP'>,
  ratio: number,
): boolean {
  const best = Math.max(t.logprob, t.topLogprobs?.[0]?.logprob ?? t.logprob);
  if (t.logprob < plausibleFloor(best, req.temperature, ratio)) return false;
  if (req.topP >= 1) return true;
  // Inside the nucleus: the raw mass of the tokens strictly more likely than it is below topP (raw order;
  // tempering keeps the order, and backends apply top-p before or after it).
  const before = (t.topLogprobs ?? [])
    .filter((x) => x.token !== t.token && x.logprob > t.logprob)
    .reduce((s, x) => s + Math.exp(x.logprob), 0);
  const beforeTempered = temperedMassBefore(t, req.temperature);
  return Math.min(before, beforeTempered) < req.topP;
}

function temperedMassBefore(t: ReferenceToken, temperature: number): number {
  const top = (t.topLogprobs ?? []).filter((x) => x.token !== t.token);
  const all = [...top.map((x) => x.logprob), t.logprob].map((l) => l / Math.max(temperature, 1e-6));
  const z = logsumexp(all);
  return top
    .filter((x) => x.logprob > t.logprob)
    .reduce((s, x) => s + Math.exp(x.logprob / Math.max(temperature, 1e-6) - z), 0);
}

const stats = (s: Omit<AuditStats, 'passed'>, failure: AuditFailure | null, detail: string): Audit => ({
  stats: { ...s, passed: failure === null },
  failure,
  detail,
});

/**
 * The token and length rules (everything but the ending): the reference's scores of the answer's text
 * against what the miner reported.
 */
export function auditTokens(
  req: AuditedRequest,
  answer: AuditedAnswer,
  reference: ReferenceScore,
  opts: GenerateAuditOpts,
): Audit {
  const ref = reference.tokens;
  const miner = answer.tokens;
  const greedy = req.temperature <= 0;
  let matched = 0;
  for (const t of ref) {
    if (greedy) {
      const best = t.topLogprobs?.[0];
      if (best === undefined || t.logprob >= best.logprob - opts.tolerance) matched += 1;
    } else if (plausibleDraw(t, req, opts.plausibleRatio)) matched += 1;
  }
  const refSpans = new Map<string, number>();
  spans(ref.map((t) => t.token)).forEach(([s, e], i) => {
    refSpans.set(`${s}:${e}`, i);
  });
  let compared = 0;
  let lpMatched = 0;
  let maxDiff: number | null = null;
  let missing = 0;
  const minerSpans = spans(miner.map((t) => t.text));
  minerSpans.forEach(([s, e], i) => {
    if (e === s) return;
    const lp = miner[i]?.logprob;
    if (lp === undefined || lp === null || !Number.isFinite(lp)) {
      // The backend's last event may flush held text without a logprob.
      if (i !== miner.length - 1) missing += 1;
      return;
    }
    const j = refSpans.get(`${s}:${e}`);
    if (j === undefined) return;
    const r = ref[j] as ReferenceToken;
    let diff = Math.abs(lp - r.logprob);
    if (!greedy) {
      const tempered = temperedLogprob(r, req.temperature, req.topP);
      if (tempered !== null) diff = Math.min(diff, Math.abs(lp - tempered));
    }
    compared += 1;
    if (diff <= opts.tolerance) lpMatched += 1;
    maxDiff = Math.max(maxDiff ?? 0, diff);
  });
  const n = ref.length;
  const s = {
    tokens: n,
    argmaxMatched: matched,
    logprobsCompared: compared,
    logprobsMatched: lpMatched,
    maxLogprobDiff: maxDiff,
  };
  const withText = minerSpans.filter(([a, b]) => b > a).length;
  if (
    missing > 0 ||
    (withText > 0 &&
      compared === 0 &&
      minerSpans.every(([a, b], i) => b === a || miner[i]?.logprob === undefined))
  )
    return stats(s, AuditFailure.MISSING_LOGPROBS, `${missing} token(s) without a logprob`);
  // Lengths: the reference's tokenisation of the relayed text need not give back the miner's token count
  // (a byte-level model's pieces of UTF-8 decode to characters that retokenise differently), so the
  // miner's token events count too, but only as many as the text has UTF-8 bytes: every real token adds at
  // least one byte, so padding an answer with empty events cannot make it look long enough.
  const events = Math.min(miner.length, Buffer.byteLength(miner.map((t) => t.text).join(''), 'utf8'));
  if (Math.min(n, miner.length) > req.maxTokens + 1)
    return stats(s, AuditFailure.TOO_LONG, `${n} tokens > maxTokens ${req.maxTokens}`);
  const room = roomFor(req, reference);
  if (answer.finishReason === 'length' && Math.max(n, events) < room - 1)
    return stats(
      s,
      AuditFailure.TRUNCATED,
      `finishReason length after ${Math.max(n, events)} of ${room} tokens`,
    );
  if (n === 0 || matched < opts.minMatch * n - 1e-9)
    return greedy
      ? stats(s, AuditFailure.NOT_ARGMAX, `${matched} of ${n} tokens the reference argmax`)
      : stats(s, AuditFailure.IMPLAUSIBLE, `${matched} of ${n} tokens plausible draws`);
  if (compared < opts.minMatch * n - 1 - 1e-9)
    return stats(s, AuditFailure.UNALIGNED, `${compared} of ${n} tokens comparable`);
  if (lpMatched < opts.minMatch * compared - 1e-9)
    return stats(s, AuditFailure.LOGPROB_MISMATCH, `${lpMatched} of ${compared} logprobs within tolerance`);
  return stats(s, null, 'passed');
}

/**
 * The token and length rules of an answer whose every event carries ids, on the reference's scores of
 * exactly those ids (`app_scoreV1` with `continuationIds`): event i covers the next `ids.length` reference
 * positions; its logprob is compared with the sum of the reference's there (raw, or after the sampler
 * chain for sampled answers); argmax/plausibility per reference token; the pieces must decode to the text
 * (TEXT_MISMATCH); lengths are exact (TOO_LONG over maxTokens, TRUNCATED under the room there was - 1).
 */
export function auditTokensByIds(
  req: AuditedRequest,
  answer: AuditedAnswer,
  reference: ReferenceScore,
  opts: GenerateAuditOpts,
): Audit {
  const ref = reference.tokens;
  const miner = answer.tokens;
  const greedy = req.temperature <= 0;
  const ids = miner.reduce((k, t) => k + (t.ids?.length ?? 0), 0);
  let matched = 0;
  for (const t of ref) {
    if (greedy) {
      const best = t.topLogprobs?.[0];
      if (best === undefined || t.logprob >= best.logprob - opts.tolerance) matched += 1;
    } else if (plausibleDraw(t, req, opts.plausibleRatio)) matched += 1;
  }
  let compared = 0;
  let lpMatched = 0;
  let maxDiff: number | null = null;
  let missing = 0;
  let at = 0;
  for (const t of miner) {
    const k = t.ids?.length ?? 0;
    const covered = ref.slice(at, at + k);
    at += k;
    if (k === 0) continue;
    const lp = t.logprob;
    if (lp === undefined || lp === null || !Number.isFinite(lp)) {
      missing += 1;
      continue;
    }
    const raw = covered.reduce((sum, r) => sum + r.logprob, 0);
    let diff = Math.abs(lp - raw);
    if (!greedy) {
      const tempered = covered.map((r) => temperedLogprob(r, req.temperature, req.topP));
      if (tempered.every((x) => x !== null))
        diff = Math.min(diff, Math.abs(lp - tempered.reduce((sum: number, x) => sum + (x as number), 0)));
    }
    compared += 1;
    if (diff <= opts.tolerance) lpMatched += 1;
    maxDiff = Math.max(maxDiff ?? 0, diff);
  }
  const n = ref.length;
  const s = {
    tokens: n,
    argmaxMatched: matched,
    logprobsCompared: compared,
    logprobsMatched: lpMatched,
    maxLogprobDiff: maxDiff,
  };
  const text = miner.map((t) => t.text).join('');
  const decoded = ref.map((t) => t.token).join('');
  if (n !== ids || textOfIds(decoded, text, req, answer.finishReason) === 'mismatch')
    return stats(
      s,
      AuditFailure.TEXT_MISMATCH,
      n !== ids
        ? `the reference scored ${n} tokens for ${ids} ids`
        : `the ids decode to ${JSON.stringify(decoded.slice(0, 80))}, not the relayed ${JSON.stringify(text.slice(0, 80))}`,
    );
  if (missing > 0) return stats(s, AuditFailure.MISSING_LOGPROBS, `${missing} token(s) without a logprob`);
  if (n > req.maxTokens) return stats(s, AuditFailure.TOO_LONG, `${n} tokens > maxTokens ${req.maxTokens}`);
  const room = roomFor(req, reference);
  if (answer.finishReason === 'length' && n < room - 1)
    return stats(s, AuditFailure.TRUNCATED, `finishReason length after ${n} of ${room} tokens`);
  if (n === 0 || matched < opts.minMatch * n - 1e-9)
    return greedy
      ? stats(s, AuditFailure.NOT_ARGMAX, `${matched} of ${n} tokens the reference argmax`)
      : stats(s, AuditFailure.IMPLAUSIBLE, `${matched} of ${n} tokens plausible draws`);
  if (lpMatched < opts.minMatch * compared - 1e-9)
    return stats(s, AuditFailure.LOGPROB_MISMATCH, `${lpMatched} of ${compared} logprobs within tolerance`);
  return stats(s, null, 'passed');
}

/**
 * Whether the reference would end where the answer stopped: its end-of-generation logprob within
 * `tolerance` of the best (greedy) or above the plausibility floor (sampled). `undefined` when the
 * reference did not say (a backend without `eos`).
 */
export function endsThere(
  eos: ReferenceScore['eos'],
  req: Pick<AuditedRequest, 'temperature'>,
  opts: GenerateAuditOpts,
): boolean | undefined {
  if (eos === undefined || eos === null) return undefined;
  return req.temperature <= 0
    ? eos.logprob >= eos.topLogprob - opts.tolerance
    : eos.logprob >= plausibleFloor(eos.topLogprob, req.temperature, opts.plausibleRatio);
}

/**
 * Whether a stop sequence is a plausible next piece of text after the answer: `reference` scores the
 * answer's text followed by the stop sequence; the first reference token reaching past `textChars` must
 * be the argmax (greedy) or a plausible draw (sampled).
 */
export function stopExplains(
  reference: readonly ReferenceToken[],
  textChars: number,
  req: Pick<AuditedRequest, 'temperature' | 'topP'>,
  opts: GenerateAuditOpts,
): boolean {
  const i = spans(reference.map((t) => t.token)).findIndex(([, e]) => e > textChars);
  const t = reference[i];
  if (t === undefined) return false;
  if (req.temperature <= 0) {
    const best = t.topLogprobs?.[0];
    return best === undefined || t.logprob >= best.logprob - opts.tolerance;
  }
  return plausibleDraw(t, req, opts.plausibleRatio);
}

/** The ending rule over a token audit that passed: {@link endsThere}, else a stop sequence that explains it. */
export function auditEnding(
  tokens: Audit,
  req: AuditedRequest,
  answer: AuditedAnswer,
  reference: ReferenceScore,
  stopScores: readonly (readonly ReferenceToken[])[],
  opts: GenerateAuditOpts,
): Audit {
  if (tokens.failure !== null || answer.finishReason !== 'stop') return tokens;
  const ends = endsThere(reference.eos, req, opts);
  if (ends !== false) return tokens;
  const chars = answer.tokens.reduce((s, t) => s + t.text.length, 0);
  if (stopScores.some((r) => stopExplains(r, chars, req, opts))) return tokens;
  return stats(
    tokens.stats,
    AuditFailure.EARLY_STOP,
    `finishReason stop where the reference would go on (eos ${reference.eos?.logprob.toFixed(2)} vs best ${reference.eos?.topLogprob.toFixed(2)})`,
  );
}

/** Cosine similarity of two vectors of one dimension (0 when either is all zeros). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** The embedding rule: one vector per input, each within `minCosine` of the reference's. */
export function auditEmbeddings(
  miner: readonly (readonly number[])[],
  reference: readonly (readonly number[])[],
  minCosine: number,
): Audit {
  const base = { tokens: reference.length, logprobsCompared: 0, logprobsMatched: 0, maxLogprobDiff: null };
  if (miner.length !== reference.length || miner.some((v, i) => v.length !== reference[i]?.length))
    return stats(
      { ...base, argmaxMatched: 0 },
      AuditFailure.EMBEDDING_SHAPE,
      `${miner.length} vector(s) of ${miner[0]?.length ?? 0} dims; the reference has ${reference.length} of ${reference[0]?.length ?? 0}`,
    );
  const sims = miner.map((v, i) => cosine(v, reference[i] as readonly number[]));
  const on = sims.filter((c) => c >= minCosine).length;
  const worst = Math.min(...sims);
  return on === sims.length
    ? stats({ ...base, argmaxMatched: on }, null, 'passed')
    : stats(
        { ...base, argmaxMatched: on },
        AuditFailure.EMBEDDING_OFF,
        `cosine ${worst.toFixed(4)} < ${minCosine} to the reference`,
      );
}
