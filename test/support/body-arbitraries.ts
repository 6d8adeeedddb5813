import fc from "fast-check";

/**
 * fast-check building blocks for fuzzing the HTTP API: strings, emails, dates and ids that follow
 * the protocol schemas' rules, the valid bodies of the write endpoints built from them by hand, and
 * the mutations that turn a valid body into a hostile one — wrong types, unknown keys, strings at
 * and past their limits, deep nesting, NUL / lone surrogates / emoji, and bytes that are not JSON.
 */

/** A request body as it goes on the wire, and how it was made (shown in counterexamples). */
export interface WireBody {
  kind: string;
  body: string | Uint8Array;
}

export type JsonPath = ReadonlyArray<string | number>;
type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

const previewDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A wire body that prints short in a counterexample: a 250 KiB body would bury the report. */
export function wireBody(kind: string, body: string | Uint8Array): WireBody {
  const text = typeof body === "string" ? body : previewDecoder.decode(body);
  const preview = text.length <= 600 ? text : `${text.slice(0, 400)}…(${text.length} characters)…${text.slice(-100)}`;
  const shown = typeof body === "string" ? JSON.stringify(preview) : `bytes [${[...body.slice(0, 64)].join(",")}${body.length > 64 ? ",…" : ""}] ≈ ${JSON.stringify(preview)}`;
  return { kind, body, [fc.toStringMethod]: () => `${kind}: ${shown}` } as WireBody;
}

/** `undefined` (what `JSON.stringify` makes of a function or `undefined`) goes out as an empty body. */
export const asJson = (kind: string, value: unknown): WireBody => wireBody(kind, JSON.stringify(value) ?? "");

// ── Values that follow the schemas' rules ───────────────────────────────────────────────────────

const asciiChar = fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 });
const anyGrapheme = fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 });
/** Printable text, mostly ASCII, sometimes any grapheme (accents, CJK, emoji with joiners). */
const printableUnit = fc.oneof({ weight: 4, arbitrary: asciiChar }, { weight: 1, arbitrary: anyGrapheme });

/** Length in code points: zod's string `.min()` / `.max()` count those (as Postgres counts characters). */
export const codePoints = (text: string) => Array.from(text).length;

/** Drops code points from the end until `text` fits `max` of them. */
function clampText(text: string, max: number, trim: boolean): string {
  let result = trim ? text.trim() : text;
  while (codePoints(result) > max) {
    const points = Array.from(result);
    points.pop();
    result = trim ? points.join("").trim() : points.join("");
  }
  return result;
}

/**
 * A string the schema `z.string()[.trim()].min(min).max(max)` accepts: printable, no NUL, no lone
 * surrogate. With `trim`, the limits hold for the trimmed text and whitespace may surround it.
 */
export function text(options: { min?: number; max: number; trim?: boolean }): fc.Arbitrary<string> {
  const { min = 0, max, trim = false } = options;
  const core = fc.string({ unit: printableUnit, maxLength: Math.min(max, 40) }).map((raw) => {
    const fitted = clampText(raw, max, trim);
    const length = codePoints(fitted);
    return length >= min ? fitted : fitted + "x".repeat(min - length);
  });
  if (!trim) return core;
  const pad = fc.constantFrom("", "", " ", "\t", "\n ", "\u00a0");
  return fc.tuple(pad, core, pad).map(([before, middle, after]) => before + middle + after);
}

/** An address zod 4's `z.email()` accepts (its "practical" regex), short of any length limit. */
export const email: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.stringMatching(/^[A-Za-z0-9_'+-]{1,8}$/), { maxLength: 2 }),
    fc.stringMatching(/^[A-Za-z0-9_'+-]{0,8}[A-Za-z0-9_+-]$/),
    fc.array(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,10}$/), { minLength: 1, maxLength: 3 }),
    fc.stringMatching(/^[A-Za-z]{2,6}$/),
  )
  .map(([atoms, last, labels, tld]) => `${[...atoms, last].join(".")}@${labels.join(".")}.${tld}`);

/** A UUID `z.uuid()` accepts (RFC 9562 version and variant). */
export const uuid: fc.Arbitrary<string> = fc.uuid({ version: [1, 4, 7] });

/** A JSON object of small printable values, as a `z.record(z.string(), z.unknown())` takes. */
export const jsonRecord: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), {
  maxKeys: 6,
});

/** A finite double (JSON has no NaN or infinity). */
export const finite = fc.double({ noNaN: true, noDefaultInfinity: true });

function offsetText(minutes: number): string {
  if (minutes === 0) return "Z";
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/**
 * An RFC 3339 date-time that `z.iso.datetime({ offset: true })` accepts, between `min` and `max`:
 * `Z` or a `±hh:mm` offset, seconds always, no fraction or one of 1–9 digits.
 */
export function isoDateTime(min: Date, max: Date): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.date({ min, max, noInvalidDate: true }),
      fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
      fc.constantFrom("none", "millis", "micros", "nanos"),
    )
    .map(([date, offset, fraction]) => {
      // The wall-clock time at that offset, so the string names the same instant.
      const wall = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
      const digits = { none: "", millis: `.${String(date.getUTCMilliseconds()).padStart(3, "0")}`, micros: ".123456", nanos: ".000000001" }[fraction];
      return `${wall}${digits}${offsetText(offset)}`;
    })
    .filter((value) => /^\d{4}-/.test(value));
}

// ── Valid bodies of the write endpoints, by hand from the schemas in runtime/protocol ────────────

/** A React Flow graph as a body carries it. */
export interface Graph {
  nodes: unknown[];
  edges: unknown[];
}

export const name = text({ min: 1, max: 200, trim: true });
export const description = text({ max: 2_000 });
export const orgRole = fc.constantFrom("OWNER", "ADMIN", "MEMBER", "VIEWER");
export const teamRole = fc.constantFrom("LEADER", "WORKER", "COORDINATOR", "SPECIALIST");
export const priority = fc.integer({ min: -1_000, max: 1_000 });
export const tags = fc.array(text({ min: 1, max: 50, trim: true }), { maxLength: 20 });
export const nonEmpty = (body: object) => Object.keys(body).length > 0;

const modelConfig = fc.record(
  {
    provider: fc.constantFrom("simulated", "openai", "anthropic"),
    model: text({ min: 1, max: 200 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    maxTokens: fc.integer({ min: 1, max: 200_000 }),
    simulated: fc.record(
      { latencyMs: fc.integer({ min: 0, max: 600_000 }), seed: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ["provider", "model"] },
);
const personality = fc.record(
  { tone: text({ max: 200 }), traits: fc.array(text({ max: 100 }), { maxLength: 10 }), systemPrompt: text({ max: 20_000 }) },
  { requiredKeys: [] },
);
export const agentFields = {
  name,
  description: fc.option(description, { nil: null }),
  personality,
  modelConfig,
  capabilities: fc.array(text({ min: 1, max: 100, trim: true }), { maxLength: 10 }),
  isActive: fc.boolean(),
};

const graphId = text({ min: 1, max: 200 });
const node = fc.record(
  {
    id: graphId,
    type: text({ max: 100 }),
    position: fc.record({ x: finite, y: finite }),
    data: jsonRecord,
    // React Flow's own keys, kept as they are.
    measured: fc.record({ width: finite, height: finite }),
    selected: fc.boolean(),
  },
  { requiredKeys: ["id", "position", "data"] },
);
const edgeBetween = (ids: string[]) =>
  fc.record(
    {
      id: graphId,
      source: fc.constantFrom(...ids),
      target: fc.constantFrom(...ids),
      sourceHandle: fc.option(text({ max: 200 }), { nil: null }),
      targetHandle: fc.option(text({ max: 200 }), { nil: null }),
      type: text({ max: 100 }),
      data: jsonRecord,
      animated: fc.boolean(),
    },
    { requiredKeys: ["id", "source", "target"] },
  );
/** Unique node ids, unique edge ids, every edge between two nodes. */
export const graph: fc.Arbitrary<Graph> = fc.uniqueArray(node, { selector: (n) => n.id, maxLength: 8 }).chain((nodes) => {
  const ids = nodes.map((n) => n.id);
  const edges: fc.Arbitrary<unknown[]> = ids.length === 0 ? fc.constant([]) : fc.uniqueArray(edgeBetween(ids), { selector: (e) => e.id, maxLength: 10 });
  return edges.map((list): Graph => ({ nodes, edges: list }));
});
/** A create body holds a whole graph, only nodes (edges default to none) or neither. */
export const createGraph = fc.option(fc.tuple(graph, fc.boolean()).map(([g, nodesOnly]) => (nodesOnly ? { nodes: g.nodes } : g)), { nil: {} });
/** A change may carry both halves or one; one half is checked against the stored other. */
export const changeGraph = fc.tuple(graph, fc.constantFrom("both", "nodes", "edges")).map(([g, which]) =>
  which === "both" ? g : which === "nodes" ? { nodes: g.nodes } : { edges: g.edges },
);

export const templateCategory = fc.constantFrom("SALES", "SUPPORT", "MARKETING", "DATA_PROCESSING", "AUTOMATION", "ANALYTICS", "CONTENT", "COMMUNICATION");
export const difficulty = fc.constantFrom("BEGINNER", "INTERMEDIATE", "ADVANCED", "EXPERT");

/** `n` members over distinct agents of `pool`, roles from `roleAt(i)`. */
function membersOf(pool: string[], min: number, roleAt: (index: number, role: string) => string, uniquePriorities = false) {
  return fc
    .tuple(
      fc.shuffledSubarray(pool, { minLength: Math.min(min, pool.length) }),
      fc.array(teamRole, { minLength: pool.length, maxLength: pool.length }),
      uniquePriorities ? fc.uniqueArray(priority, { minLength: pool.length, maxLength: pool.length }) : fc.array(priority, { minLength: pool.length, maxLength: pool.length }),
      fc.array(fc.boolean(), { minLength: pool.length, maxLength: pool.length }),
    )
    .map(([agents, roles, priorities, spelled]) =>
      agents.map((agentId, index) => {
        const role = roleAt(index, roles[index]!);
        // role and priority have defaults (WORKER, 0): leave them out now and then when they match.
        const member: Record<string, unknown> = { agentId };
        if (role !== "WORKER" || spelled[index]) member.role = role;
        if (priorities[index] !== 0 || spelled[index]) member.priority = priorities[index];
        return member;
      }),
    );
}
const nonLeader = (role: string) => (role === "LEADER" ? "WORKER" : role);

/** Structure, coordination and members that satisfy `teamIssues`, over `pool` (which may hold an id that is no agent). */
export function teamDefinition(pool: string[]) {
  const hierarchical = fc.record({
    structure: fc.constant("HIERARCHICAL"),
    coordination: fc.record(
      { maxSubtasks: fc.integer({ min: 1, max: 20 }), allowRedelegation: fc.boolean(), reviewResults: fc.boolean(), leaderMayAnswer: fc.constant(false) },
      { requiredKeys: [] },
    ),
    // One LEADER (the first picked), at least one WORKER or SPECIALIST (the second).
    members: membersOf(pool, 2, (index, role) => (index === 0 ? "LEADER" : index === 1 ? (role === "SPECIALIST" ? role : "WORKER") : nonLeader(role))),
  });
  const collaborative = fc.constantFrom("coordinator", "highest-priority").chain((synthesiser) =>
    fc.record({
      structure: fc.constant("COLLABORATIVE"),
      coordination: fc.record(
        {
          maxRounds: fc.integer({ min: 1, max: 20 }),
          convergence: fc.record({ method: fc.constantFrom("similarity", "unchanged"), threshold: fc.double({ min: 0, max: 1, noNaN: true }) }),
          synthesiser: fc.constant(synthesiser),
        },
        { requiredKeys: synthesiser === "coordinator" ? ["synthesiser"] : [] },
      ),
      members: membersOf(pool, 1, (index, role) =>
        synthesiser !== "coordinator" ? role : index === 0 ? "COORDINATOR" : role === "COORDINATOR" ? "SPECIALIST" : role,
      ),
    }),
  );
  const pipeline = fc.record({
    structure: fc.constant("PIPELINE"),
    coordination: fc.oneof(
      fc.record({ onStageFailure: fc.constantFrom("stop", "skip"), maxRetries: fc.integer({ min: 0, max: 5 }) }, { requiredKeys: [] }),
      fc.record({ onStageFailure: fc.constant("retry"), maxRetries: fc.integer({ min: 1, max: 5 }) }, { requiredKeys: ["onStageFailure"] }),
    ),
    members: membersOf(pool, 1, (_index, role) => role, true),
  });
  const common = { quorum: fc.double({ min: 0, max: 1, noNaN: true }), tieBreak: fc.constantFrom("leader", "highest-weight", "random", "revote") };
  const rule = fc.oneof(
    fc.record({ kind: fc.constant("majority"), ...common, abstentionsCount: fc.boolean() }, { requiredKeys: ["kind"] }),
    fc.record({ kind: fc.constant("plurality"), ...common }, { requiredKeys: ["kind"] }),
    fc.record(
      { kind: fc.constant("weighted"), ...common, weightSource: fc.constantFrom("priority", "successRate", "explicit"), threshold: fc.constantFrom("plurality", "majority"), abstentionsCount: fc.boolean() },
      { requiredKeys: ["kind", "weightSource"] },
    ),
    fc.record({ kind: fc.constant("ranked-choice"), ...common }, { requiredKeys: ["kind"] }),
    fc.record({ kind: fc.constant("borda"), ...common }, { requiredKeys: ["kind"] }),
    fc.record({ kind: fc.constant("unanimity"), ...common, abstentionsCount: fc.boolean() }, { requiredKeys: ["kind"] }),
  );
  const democratic = fc
    .record({
      rule,
      debateRounds: fc.integer({ min: 0, max: 5 }),
      memberTimeoutMs: fc.integer({ min: 1_000, max: 600_000 }),
      minVoters: fc.integer({ min: 1, max: pool.length }),
    }, { requiredKeys: ["rule"] })
    .chain((coordination) => {
      const leader = (coordination.rule as { tieBreak?: string }).tieBreak === "leader";
      const floor = Math.max(2, (coordination.minVoters as number | undefined) ?? 0);
      return membersOf(pool, floor, (index, role) => (!leader ? role : index === 0 ? "LEADER" : nonLeader(role))).map((members) => ({
        structure: "DEMOCRATIC",
        coordination,
        members,
      }));
    });
  return fc.oneof(hierarchical, collaborative, pipeline, democratic);
}
/** The org's agents, and now and then an id that is no agent of it (404). */
export const agentPool = (agentIds: string[]) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: uuid }).map((stranger) => (stranger ? [...agentIds, stranger] : agentIds));

const slackChannel = fc.oneof(fc.stringMatching(/^#[a-z0-9][a-z0-9_-]{0,79}$/), fc.stringMatching(/^[CGD][A-Z0-9]{8,20}$/));
const integrationUrl = fc.oneof(
  fc.webUrl({ validSchemes: ["https"], withQueryParameters: true, withFragments: true }),
  fc
    .tuple(fc.constantFrom("http", "https"), fc.constantFrom("localhost", "127.0.0.1", "[::1]"), fc.option(fc.integer({ min: 1, max: 65_535 })), fc.webPath())
    .map(([scheme, host, port, path]) => `${scheme}://${host}${port === null ? "" : `:${port}`}${path}`),
);
export const providerConfig = {
  SLACK: fc.record({ channel: slackChannel }),
  GMAIL: fc.record({ from: email }),
  WEBHOOK: fc.record({ url: integrationUrl }),
  HTTP: fc.record({ url: integrationUrl, method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE") }, { requiredKeys: ["url"] }),
};
export const credentials = fc.dictionary(text({ min: 1, max: 100 }), text({ min: 1, max: 200 }), { maxKeys: 5 });

// ── Mutations of a valid body ───────────────────────────────────────────────────────────────────

/** Every position in a JSON value, the root first. Iterative, so any depth is fine. */
export function positionsOf(value: unknown): JsonPath[] {
  const out: JsonPath[] = [];
  const stack: Array<[unknown, JsonPath]> = [[value, []]];
  while (stack.length > 0) {
    const [current, path] = stack.pop()!;
    out.push(path);
    if (Array.isArray(current)) current.forEach((item, index) => stack.push([item, [...path, index]]));
    else if (isObject(current)) for (const [key, item] of Object.entries(current)) stack.push([item, [...path, key]]);
  }
  return out;
}

export function valueAt(value: unknown, path: JsonPath): unknown {
  let current = value;
  for (const step of path) current = Array.isArray(current) ? current[step as number] : isObject(current) ? current[step as string] : undefined;
  return current;
}

/** A copy of `value` with `path` set to `replacement`; own keys such as `__proto__` stay plain data. */
export function replaceAt(value: unknown, path: JsonPath, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    copy[head as number] = replaceAt(copy[head as number], rest, replacement);
    return copy;
  }
  const copy: JsonObject = {};
  for (const [key, item] of Object.entries(value as JsonObject)) Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, String(head), { value: replaceAt(copy[String(head)], rest, replacement), enumerable: true, writable: true, configurable: true });
  return copy;
}

/** A valid body and one position in it whose value passes `where` (the root when none does). */
function somePosition(valid: fc.Arbitrary<unknown>, where: (value: unknown) => boolean): fc.Arbitrary<{ body: unknown; path: JsonPath }> {
  return valid.chain((body) => {
    const paths = positionsOf(body).filter((path) => where(valueAt(body, path)));
    return paths.length === 0 ? fc.constant({ body, path: [] as JsonPath }) : fc.constantFrom(...paths).map((path) => ({ body, path }));
  });
}

const jsonType = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);

/** One of each JSON type, and numbers that are out of any integer or range rule. */
const typeSamples: unknown[] = [null, true, false, 0, -1, 0.5, 1e21, -1e21, 2 ** 53, 5e-324, "", "0", "true", "null", [], [null], {}, { "": null }];

/** One position of a valid body (the root included) gets a value of another JSON type. */
export function wrongType(valid: fc.Arbitrary<unknown>): fc.Arbitrary<WireBody> {
  return somePosition(valid, () => true).chain(({ body, path }) => {
    const current = jsonType(valueAt(body, path));
    const samples = typeSamples.filter((sample) => jsonType(sample) !== current || current === "number");
    return fc.constantFrom(...samples).map((sample) => asJson(`wrong-type at /${path.join("/")}`, replaceAt(body, path, sample)));
  });
}

const unknownKey = fc.oneof(
  fc.constantFrom("id", "orgId", "organizationId", "createdAt", "isSystem", "isFeatured", "role", "status", "extra", "toString", "constructor", "__proto__", "prototype", ""),
  fc.string({ minLength: 1, maxLength: 16 }),
);

function withKey(object: JsonObject, key: string, value: unknown): JsonObject {
  // Spread and defineProperty keep a `__proto__` key an own data property, as JSON.parse makes it.
  const copy: JsonObject = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** An object of a valid body (the root half the time) gets a key it didn't have. */
export function unknownField(valid: fc.Arbitrary<unknown>): fc.Arbitrary<WireBody> {
  const at = fc.oneof(
    valid.map((body) => ({ body, path: [] as JsonPath })),
    somePosition(valid, isObject),
  );
  return fc
    .tuple(at, unknownKey, fc.jsonValue({ maxDepth: 2 }))
    .filter(([{ body, path }, key]) => isObject(valueAt(body, path)) && !Object.hasOwn(valueAt(body, path) as JsonObject, key))
    .map(([{ body, path }, key, value]) => asJson(`unknown key ${JSON.stringify(key)} at /${path.join("/")}`, replaceAt(body, path, withKey(valueAt(body, path) as JsonObject, key, value))));
}

/** Every `max` of a string or array in the protocol schemas, and one past it (and a few below). */
const lengths = [0, 1, 2, 20, 21, 49, 50, 51, 99, 100, 101, 199, 200, 201, 319, 320, 321, 499, 500, 501, 1_999, 2_000, 2_001, 9_999, 10_000, 10_001, 19_999, 20_000, 20_001];
const arrayLengths = [0, 1, 19, 20, 21, 49, 50, 51, 99, 100, 101, 499, 500, 501, 1_999, 2_000, 2_001];

/** The i-th copy of an array item, its `id` (or itself, if a string) made unique so graph and team rules still hold. */
function copyOf(item: unknown, index: number): unknown {
  if (typeof item === "string") return `${item}${index}`;
  if (isObject(item) && typeof item.id === "string") return { ...item, id: `${item.id}-${index}` };
  return item;
}

/** A string of a valid body at or past a length limit (with trim-able padding), or an array at or past an item limit. */
export function atLimits(valid: fc.Arbitrary<unknown>): fc.Arbitrary<WireBody> {
  const longString = fc
    .tuple(
      somePosition(valid, (value) => typeof value === "string"),
      fc.constantFrom(...lengths),
      // One code point each (the unit of zod's limits), one to four UTF-8 bytes.
      fc.constantFrom("a", "é", "😀", "-"),
      fc.constantFrom("", " ", "\n\t "),
    )
    .map(([{ body, path }, length, fill, pad]) =>
      asJson(`string of ${length} at /${path.join("/")}`, replaceAt(body, path, pad + fill.repeat(length) + pad)),
    );
  const longArray = fc
    .tuple(somePosition(valid, Array.isArray), fc.constantFrom(...arrayLengths))
    .map(([{ body, path }, count]) => {
      const items = valueAt(body, path);
      const first = Array.isArray(items) && items.length > 0 ? items[0] : "item";
      return asJson(`array of ${count} at /${path.join("/")}`, replaceAt(body, path, Array.from({ length: count }, (_, index) => copyOf(first, index))));
    });
  return fc.oneof({ weight: 3, arbitrary: longString }, { weight: 1, arbitrary: longArray });
}

// A placeholder that JSON.stringify leaves recognisable, swapped for text no JS value could be stringified from.
const MARKER = "\u0001fuzz-marker\u0001";
const MARKER_JSON = JSON.stringify(MARKER);

/** The JSON text of `body` with the value at `path` (or a new key of the object there) made a marker. */
function withMarker(body: unknown, path: JsonPath, asNewKey: string | null): string {
  const target = valueAt(body, path);
  const marked = asNewKey !== null && isObject(target) ? replaceAt(body, path, withKey(target, asNewKey, MARKER)) : replaceAt(body, path, MARKER);
  return JSON.stringify(marked);
}

/**
 * A value nested `depth` levels deep in a valid body (as a new key of one of its objects, or in
 * place of a value) or as the whole body, ending in null, a plain string, or a NUL / lone surrogate
 * (so a check that stops looking at some depth is caught). Built as text: deep enough,
 * `JSON.stringify` itself would overflow the stack.
 */
export function deepNesting(valid: fc.Arbitrary<unknown>): fc.Arbitrary<WireBody> {
  const nested = (depth: number, shape: "object" | "array", leaf: string) =>
    shape === "object" ? `${'{"a":'.repeat(depth)}${leaf}${"}".repeat(depth)}` : `${"[".repeat(depth)}${leaf}${"]".repeat(depth)}`;
  return fc
    .tuple(
      somePosition(valid, () => true),
      fc.boolean(),
      fc.constantFrom(8, 32, 64, 100, 256, 1_000, 5_000, 20_000, 40_000),
      fc.constantFrom("object" as const, "array" as const),
      fc.constantFrom("null", '"deep"', '"\\u0000"', '"\\ud800"'),
    )
    .map(([{ body, path }, asNewKey, depth, shape, leaf]) =>
      wireBody(
        `${shape} nested ${depth} deep, ending in ${leaf}, at /${path.join("/")}${asNewKey ? " (new key)" : ""}`,
        withMarker(body, path, asNewKey ? "deep" : null).replace(MARKER_JSON, () => nested(depth, shape, leaf)),
      ),
    );
}

/** Pieces of text that trouble storage and comparison: NUL, lone surrogates, emoji, bidi, BOM, control characters. */
const nastyPiece = fc.oneof(
  { weight: 3, arbitrary: fc.constant("\u0000") },
  { weight: 2, arbitrary: fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff") },
  {
    weight: 3,
    arbitrary: fc.constantFrom("😀", "👩‍👩‍👧‍👦", "🇫🇷", "\u202e", "\u200b", "e\u0301", "\ufeff", "\uffff", "\ufffd", "\u2028", "\r\n", "\\", '"', "'", "%", "_", "\u0001", "\u007f", "𝕏", "İ", "ﬃ"),
  },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 3 }) },
);
export const nastyString: fc.Arbitrary<string> = fc.array(nastyPiece, { minLength: 1, maxLength: 8 }).map((pieces) => pieces.join(""));

/** A string of a valid body with a nasty piece spliced in, or replaced; or an object of it with a nasty key. */
export function nastyStrings(valid: fc.Arbitrary<unknown>): fc.Arbitrary<WireBody> {
  const spliced = fc
    .tuple(somePosition(valid, (value) => typeof value === "string"), nastyString, fc.nat(), fc.boolean())
    .map(([{ body, path }, nasty, at, replace]) => {
      const current = valueAt(body, path);
      const original = typeof current === "string" ? current : "";
      const index = original.length === 0 ? 0 : at % (original.length + 1);
      const next = replace ? nasty : original.slice(0, index) + nasty + original.slice(index);
      return asJson(`nasty string at /${path.join("/")}`, replaceAt(body, path, next));
    });
  const nastyKey = fc
    .tuple(somePosition(valid, isObject), nastyString, nastyString)
    .map(([{ body, path }, key, value]) => {
      const target = valueAt(body, path);
      return asJson(`nasty key at /${path.join("/")}`, isObject(target) ? replaceAt(body, path, withKey(target, key, value)) : replaceAt(body, path, { [key]: value }));
    });
  return fc.oneof({ weight: 3, arbitrary: spliced }, { weight: 1, arbitrary: nastyKey });
}

const encoder = new TextEncoder();
const concatBytes = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

/** Byte sequences that are not UTF-8: a stray continuation, an overlong NUL, an encoded surrogate, past U+10FFFF, cut short. */
const invalidUtf8 = fc.constantFrom([0xff], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xfe, 0xff]).map((bytes) => new Uint8Array(bytes));

/** Texts that look like JSON to a human and not to a parser, or parse to something odd. */
const oddTexts = fc.constantFrom("", " ", "\n", "NaN", "undefined", "{'a':1}", "{a:1}", "[1,]", '{"a":1,}', "\ufeff{}", "//x\n{}", "0x10", "1e99999", "-", '"\\u0000"', '"\\ud800"', "{}{}", "[]", "null", "true", '"text"', "{\"a\":\"\\x41\"}");

/** Bodies that are not valid JSON (or not UTF-8), all sent as `application/json`. */
export function notJson(valid: fc.Arbitrary<unknown>): fc.Arbitrary<WireBody> {
  const randomBytes = fc.uint8Array({ maxLength: 96 }).map((body) => wireBody("random bytes", body));
  const truncated = fc.tuple(valid, fc.nat()).map(([body, at]) => {
    const whole = JSON.stringify(body);
    return wireBody("truncated JSON", whole.slice(0, at % Math.max(whole.length, 1)));
  });
  const trailing = fc.tuple(valid, fc.constantFrom("}", ",", "x", " null", "]", "\u0000", "{}")).map(([body, tail]) => wireBody("trailing garbage", JSON.stringify(body) + tail));
  const badBytesInString = fc.tuple(somePosition(valid, (value) => typeof value === "string"), invalidUtf8).map(([{ body, path }, bytes]) => {
    const [before, after] = withMarker(body, path, null).split(MARKER_JSON) as [string, string];
    return wireBody(`invalid UTF-8 at /${path.join("/")}`, concatBytes(encoder.encode(`${before}"a`), bytes, encoder.encode(`b"${after}`)));
  });
  const odd = oddTexts.map((body) => wireBody("odd text", body));
  return fc.oneof(randomBytes, truncated, trailing, badBytesInString, odd);
}

/**
 * What a write endpoint gets in one fuzz run: a valid body (a third of the time), or arbitrary
 * JSON, or a valid body with one thing wrong, or something that isn't JSON.
 */
export function fuzzBodies(valid: fc.Arbitrary<unknown>): fc.Arbitrary<WireBody> {
  return fc.oneof(
    { weight: 10, arbitrary: valid.map((body) => asJson("valid", body)) },
    { weight: 2, arbitrary: fc.jsonValue().map((body) => asJson("json value", body)) },
    { weight: 1, arbitrary: fc.jsonValue({ stringUnit: "binary" }).map((body) => asJson("json value (any code point)", body)) },
    { weight: 2, arbitrary: fc.anything().map((body) => asJson("anything", body)) },
    { weight: 3, arbitrary: wrongType(valid) },
    { weight: 2, arbitrary: unknownField(valid) },
    { weight: 3, arbitrary: atLimits(valid) },
    { weight: 1, arbitrary: deepNesting(valid) },
    { weight: 3, arbitrary: nastyStrings(valid) },
    { weight: 2, arbitrary: notJson(valid) },
  );
}
