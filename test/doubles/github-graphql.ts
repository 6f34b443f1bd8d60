// GitHub's GraphQL API (POST /graphql) for the GitHub double: an SDL subset of GitHub's public schema run by
// graphql-js over the double's repo records, with GitHub's error shapes, pagination rules and points cost.
import {
  type ASTNode,
  buildSchema,
  type DocumentNode,
  execute,
  type FieldNode,
  GraphQLError,
  type GraphQLField,
  GraphQLIncludeDirective,
  type GraphQLNamedType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getLocation,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  Lexer,
  type OperationDefinitionNode,
  parse,
  print,
  type SelectionSetNode,
  Source,
  TokenKind,
  validate,
  visit,
} from 'graphql';
import type { DeploymentRecord, RepoRecord, StatusRecord } from './github-api.js';

// ---------- the schema: names, types, nullability and defaults as in GitHub's public schema ----------

const SDL = /* GraphQL */ `
  "An ISO-8601 encoded UTC date string."
  scalar DateTime
  "An RFC 3986, RFC 3987, and RFC 6570 (level 4) compliant URI string."
  scalar URI
  "A Git object ID."
  scalar GitObjectID

  interface Node {
    id: ID!
  }

  interface Actor {
    avatarUrl(size: Int): URI!
    login: String!
    resourcePath: URI!
    url: URI!
  }

  interface RepositoryOwner {
    avatarUrl(size: Int): URI!
    id: ID!
    login: String!
    resourcePath: URI!
    url: URI!
  }

  interface GitObject {
    abbreviatedOid: String!
    commitResourcePath: URI!
    commitUrl: URI!
    id: ID!
    oid: GitObjectID!
    repository: Repository!
  }

  type User implements Node & Actor & RepositoryOwner {
    avatarUrl(size: Int): URI!
    databaseId: Int
    id: ID!
    login: String!
    name: String
    resourcePath: URI!
    url: URI!
  }

  type Bot implements Node & Actor {
    avatarUrl(size: Int): URI!
    databaseId: Int
    id: ID!
    login: String!
    resourcePath: URI!
    url: URI!
  }

  type Organization implements Node & Actor & RepositoryOwner {
    avatarUrl(size: Int): URI!
    databaseId: Int
    id: ID!
    login: String!
    name: String
    resourcePath: URI!
    url: URI!
  }

  type Commit implements Node & GitObject {
    abbreviatedOid: String!
    commitResourcePath: URI!
    commitUrl: URI!
    id: ID!
    message: String!
    oid: GitObjectID!
    repository: Repository!
  }

  type Ref implements Node {
    id: ID!
    name: String!
    prefix: String!
    repository: Repository!
    target: GitObject
  }

  type PageInfo {
    endCursor: String
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
  }

  enum OrderDirection {
    ASC
    DESC
  }

  enum DeploymentOrderField {
    CREATED_AT
  }

  input DeploymentOrder {
    direction: OrderDirection!
    field: DeploymentOrderField!
  }

  enum DeploymentState {
    ABANDONED
    ACTIVE
    DESTROYED
    ERROR
    FAILURE
    INACTIVE
    IN_PROGRESS
    PENDING
    QUEUED
    SUCCESS
    WAITING
  }

  enum DeploymentStatusState {
    ERROR
    FAILURE
    INACTIVE
    IN_PROGRESS
    PENDING
    QUEUED
    SUCCESS
    WAITING
  }

  type Repository implements Node {
    databaseId: Int
    defaultBranchRef: Ref
    deployments(
      after: String
      before: String
      environments: [String!]
      first: Int
      last: Int
      orderBy: DeploymentOrder = { field: CREATED_AT, direction: ASC }
    ): DeploymentConnection!
    id: ID!
    isPrivate: Boolean!
    name: String!
    nameWithOwner: String!
    owner: RepositoryOwner!
    resourcePath: URI!
    url: URI!
  }

  type DeploymentConnection {
    edges: [DeploymentEdge]
    nodes: [Deployment]
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type DeploymentEdge {
    cursor: String!
    node: Deployment
  }

  type Deployment implements Node {
    commitOid: String!
    createdAt: DateTime!
    creator: Actor!
    databaseId: Int
    description: String
    environment: String
    id: ID!
    latestEnvironment: String
    latestStatus: DeploymentStatus
    originalEnvironment: String
    payload: String
    ref: Ref
    repository: Repository!
    state: DeploymentState
    statuses(after: String, before: String, first: Int, last: Int): DeploymentStatusConnection
    task: String
    updatedAt: DateTime!
  }

  type DeploymentStatusConnection {
    edges: [DeploymentStatusEdge]
    nodes: [DeploymentStatus]
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type DeploymentStatusEdge {
    cursor: String!
    node: DeploymentStatus
  }

  type DeploymentStatus implements Node {
    createdAt: DateTime!
    creator: Actor!
    deployment: Deployment!
    description: String
    environment: String
    environmentUrl: URI
    id: ID!
    logUrl: URI
    state: DeploymentStatusState!
    updatedAt: DateTime!
  }

  type RateLimit {
    cost: Int!
    limit: Int!
    nodeCount: Int!
    remaining: Int!
    resetAt: DateTime!
    used: Int!
  }

  type Query {
    rateLimit(dryRun: Boolean = false): RateLimit
    repository(followRenames: Boolean = true, name: String!, owner: String!): Repository
    viewer: User!
  }
`;

/** The schema, built once per process: the benchmark sends many queries and building is the slow part. */
export const githubGraphQLSchema: GraphQLSchema = buildSchema(SDL);

// ---------- public types ----------

/** One primary rate-limit window (points for GraphQL). */
export interface RateWindow {
  limit: number;
  used: number;
  resetAt: Date | undefined;
}

/** What the GraphQL side needs from the double. */
export interface GraphQLBackend {
  /** The repository as the token sees it, or undefined (GitHub then answers NOT_FOUND). */
  repository(owner: string, name: string): RepoRecord | undefined;
  /** Login of the token's user; `viewer` and the rate-limit message name it. */
  viewer: string;
  /** The same numeric id the REST side gives a login. */
  actorId(login: string): number;
  now(): Date;
  /** Root of `url` fields; https://github.com by default. */
  webUrl: string;
  window: RateWindow;
}

export interface GraphQLHttpAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** A GitHub-formatted GraphQL error (`type` is GitHub's extension to the spec's error). */
export interface GitHubGraphQLError {
  type?: string;
  path?: Array<string | number>;
  locations?: Array<{ line: number; column: number }>;
  message: string;
  extensions?: Record<string, unknown>;
}

// ---------- rate limit ----------

const HOUR = 3_600_000;
const DOCS = 'https://docs.github.com/graphql';
const SECONDARY_DOC = `${DOCS}/overview/rate-limits-and-query-limits-for-the-graphql-api#secondary-rate-limits`;

/** Starts a new window once the old one has reset; GitHub's windows last an hour. */
export function rollWindow(window: RateWindow, now: Date): RateWindow {
  if (window.resetAt && now.getTime() >= window.resetAt.getTime()) {
    window.used = 0;
    window.resetAt = undefined;
  }
  window.resetAt ??= new Date(now.getTime() + HOUR);
  return window;
}

/** The five rate-limit headers GitHub sends on every GraphQL answer. */
export function graphqlRateHeaders(window: RateWindow, now: Date): Record<string, string> {
  const resetAt = window.resetAt ?? new Date(now.getTime() + HOUR);
  return {
    'x-ratelimit-limit': String(window.limit),
    'x-ratelimit-remaining': String(Math.max(0, window.limit - window.used)),
    'x-ratelimit-used': String(Math.min(window.used, window.limit)),
    'x-ratelimit-reset': String(Math.floor(resetAt.getTime() / 1000)),
    'x-ratelimit-resource': 'graphql',
  };
}

/**
 * GitHub's answer once the GraphQL points are used up. Status 200, not 403: the GraphQL rate-limit page
 * ("Exceeding the rate limit") says the status stays 200 with an error and `x-ratelimit-remaining: 0`, and
 * Octokit's throttling plugin detects it by the `RATE_LIMITED` error type, not by the status. (GitHub has
 * also been seen to answer `type: "RATE_LIMIT"`; the documented enum value is kept here.)
 *
 * @example graphqlRateLimitedAnswer(backend, { exhausted: true }).body // { errors: [{ type: 'RATE_LIMITED', ... }] }
 */
export function graphqlRateLimitedAnswer(
  backend: GraphQLBackend,
  options: { exhausted?: boolean } = {},
): GraphQLHttpAnswer {
  const headers = graphqlRateHeaders(backend.window, backend.now());
  if (options.exhausted) {
    headers['x-ratelimit-remaining'] = '0';
    headers['x-ratelimit-used'] = String(backend.window.limit);
  }
  return {
    status: 200,
    body: {
      errors: [
        {
          type: 'RATE_LIMITED',
          message: `API rate limit exceeded for user ID ${backend.actorId(backend.viewer)}.`,
        },
      ],
    },
    headers,
  };
}

/** Secondary rate limit on the GraphQL endpoint: 403 with `retry-after` (the docs allow 200 or 403). */
export function graphqlSecondaryRateLimitedAnswer(backend: GraphQLBackend): GraphQLHttpAnswer {
  return {
    status: 403,
    body: {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111:2222:3333:44444444.',
      documentation_url: SECONDARY_DOC,
    },
    headers: { ...graphqlRateHeaders(backend.window, backend.now()), 'retry-after': '60' },
  };
}

// ---------- errors in GitHub's shape ----------

/** Thrown by resolvers; `type` becomes the error's `type` (NOT_FOUND, INVALID_CURSOR_ARGUMENTS, ...). */
class FieldError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const locationsOf = (error: GraphQLError) =>
  error.locations ? error.locations.map(({ line, column }) => ({ line, column })) : undefined;

/** An execution error as GitHub lists it: type, path, locations, message, in that order. */
function executionError(error: GraphQLError): GitHubGraphQLError {
  const original = error.originalError;
  const locations = locationsOf(error);
  return {
    ...(original instanceof FieldError ? { type: original.type } : {}),
    ...(error.path ? { path: [...error.path] } : {}),
    ...(locations ? { locations } : {}),
    message: error.message,
  };
}

// graphql-ruby's token names, which GitHub's parse errors quote.
const TOKEN_NAMES: Partial<Record<string, string>> = {
  [TokenKind.NAME]: 'IDENTIFIER',
  [TokenKind.INT]: 'INT',
  [TokenKind.FLOAT]: 'FLOAT',
  [TokenKind.STRING]: 'STRING',
  [TokenKind.BLOCK_STRING]: 'STRING',
  [TokenKind.BRACE_L]: 'LCURLY',
  [TokenKind.BRACE_R]: 'RCURLY',
  [TokenKind.PAREN_L]: 'LPAREN',
  [TokenKind.PAREN_R]: 'RPAREN',
  [TokenKind.BRACKET_L]: 'LBRACKET',
  [TokenKind.BRACKET_R]: 'RBRACKET',
  [TokenKind.COLON]: 'COLON',
  [TokenKind.DOLLAR]: 'VAR_SIGN',
  [TokenKind.BANG]: 'BANG',
  [TokenKind.EQUALS]: 'EQUALS',
  [TokenKind.AT]: 'DIR_SIGN',
  [TokenKind.SPREAD]: 'ELLIPSIS',
  [TokenKind.PIPE]: 'PIPE',
  [TokenKind.AMP]: 'AMP',
};
const KEYWORDS = new Set(['query', 'mutation', 'subscription', 'fragment', 'on', 'true', 'false', 'null']);

/** A syntax error reworded as GitHub (graphql-ruby) words it: `Parse error on "foo" (IDENTIFIER) at [1, 1]`. */
function parseError(error: GraphQLError, source: string): GitHubGraphQLError {
  const position = error.positions?.[0];
  const locations = locationsOf(error);
  let message = error.message;
  if (position !== undefined) {
    try {
      const lexer = new Lexer(new Source(source));
      let token = lexer.advance();
      while (token.kind !== TokenKind.EOF && token.start < position) token = lexer.advance();
      if (token.kind === TokenKind.EOF) message = 'Unexpected end of document';
      else if (token.start === position) {
        const text = source.slice(token.start, token.end);
        const kind =
          token.kind === TokenKind.NAME && KEYWORDS.has(text)
            ? text.toUpperCase()
            : (TOKEN_NAMES[token.kind] ?? token.kind);
        message = `Parse error on ${JSON.stringify(text)} (${kind}) at [${token.line}, ${token.column}]`;
      }
    } catch {
      // The lexer itself rejects this character: graphql-js's own wording is the best we have.
    }
  }
  return { ...(locations ? { locations } : {}), message };
}

/** Where a node sits, as graphql-ruby's static validation reports it (`["query Name", "r0", "deployments"]`). */
function validationPaths(document: DocumentNode): Map<ASTNode, string[]> {
  const paths = new Map<ASTNode, string[]>();
  const trail: string[] = [];
  const label = (node: ASTNode): string | undefined => {
    switch (node.kind) {
      case Kind.OPERATION_DEFINITION:
        return node.name ? `${node.operation} ${node.name.value}` : node.operation;
      case Kind.FRAGMENT_DEFINITION:
        return `fragment ${node.name.value}`;
      case Kind.FIELD:
        return node.alias?.value ?? node.name.value;
      case Kind.INLINE_FRAGMENT:
        return node.typeCondition ? `... on ${node.typeCondition.name.value}` : '...';
      case Kind.FRAGMENT_SPREAD:
        return `... ${node.name.value}`;
      case Kind.ARGUMENT:
        return node.name.value;
      default:
        return undefined;
    }
  };
  visit(document, {
    enter(node) {
      const step = label(node as ASTNode);
      if (step !== undefined) trail.push(step);
      paths.set(node as ASTNode, [...trail]);
    },
    leave(node) {
      if (label(node as ASTNode) !== undefined) trail.pop();
    },
  });
  return paths;
}

/** A validation error; an unknown field gets GitHub's wording and `undefinedField` code, seen in the wild. */
function validationError(error: GraphQLError, paths: Map<ASTNode, string[]>): GitHubGraphQLError {
  const node = error.nodes?.[0];
  const path = node ? paths.get(node) : undefined;
  const locations = locationsOf(error);
  const unknownField = /^Cannot query field "([^"]+)" on type "([^"]+)"\./.exec(error.message);
  const out: GitHubGraphQLError = { message: error.message };
  if (unknownField) {
    const [, fieldName = '', typeName = ''] = unknownField;
    out.message = `Field '${fieldName}' doesn't exist on type '${typeName}'`;
    out.extensions = { code: 'undefinedField', typeName, fieldName };
  }
  if (locations) out.locations = locations;
  if (path) out.path = path;
  return out;
}

/** A variable that does not fit its declared type, worded as GitHub does. */
function variableError(
  error: GraphQLError,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): GitHubGraphQLError {
  const name = /Variable "\$([^"]+)"/.exec(error.message)?.[1];
  const definition = operation.variableDefinitions?.find(
    (candidate) => candidate.variable.name.value === name,
  );
  if (!name || !definition)
    return { message: error.message, ...(error.locations ? { locations: locationsOf(error) } : {}) };
  const type = print(definition.type);
  const value = variables[name] ?? null;
  const explanation =
    value === null
      ? 'Expected value to not be null'
      : `Could not coerce value ${JSON.stringify(value)} to ${type.replace(/[[\]!]/g, '')}`;
  return {
    message: `Variable $${name} of type ${type} was provided invalid value`,
    locations: locationsOf(error) ?? [],
    extensions: { value, problems: [{ path: [], explanation }] },
  };
}

// ---------- static analysis: pagination boundaries, node limit, points cost ----------

const PAGE_LIMIT = 100;
const NODE_LIMIT = 500_000;

interface Analysis {
  errors: GitHubGraphQLError[];
  /** Requests needed to fulfil every connection, assuming each page is full. */
  requests: number;
  nodeCount: number;
  dryRun: boolean;
}

const isConnection = (field: GraphQLField<unknown, unknown>) =>
  getNamedType(field.type).name.endsWith('Connection') && field.args.some((arg) => arg.name === 'first');

/**
 * Walks the operation as GitHub's node-limit check does: every connection must say `first` or `last`
 * (1-100) unless it only asks for counts, and each connection costs one request per parent node.
 */
function analyse(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): Analysis {
  const result: Analysis = { errors: [], requests: 0, nodeCount: 0, dryRun: false };
  const fragments = new Map(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [],
    ),
  );
  const included = (node: { directives?: readonly unknown[] }) => {
    const skip = getDirectiveValues(GraphQLSkipDirective, node as never, variables);
    const include = getDirectiveValues(GraphQLIncludeDirective, node as never, variables);
    return skip?.if !== true && include?.if !== false;
  };
  // The response keys a selection asks for, fragments flattened.
  const keysOf = (selections: SelectionSetNode | undefined, seen = new Set<string>()): Set<string> => {
    for (const selection of selections?.selections ?? []) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) seen.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) keysOf(selection.selectionSet, seen);
      else keysOf(fragments.get(selection.name.value)?.selectionSet, seen);
    }
    return seen;
  };
  const walk = (
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType,
    multiplier: number,
    path: string[],
  ): void => {
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition
          ? githubGraphQLSchema.getType(selection.typeCondition.name.value)
          : parent;
        if (type) walk(selection.selectionSet, type, multiplier, path);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        const type = fragment && githubGraphQLSchema.getType(fragment.typeCondition.name.value);
        if (fragment && type) walk(fragment.selectionSet, type, multiplier, path);
        continue;
      }
      if (!isObjectType(parent) && !isInterfaceType(parent)) continue;
      const field = parent.getFields()[selection.name.value];
      if (!field) continue;
      const key = selection.alias?.value ?? selection.name.value;
      const args = getArgumentValues(field, selection as FieldNode, variables);
      if (parent === githubGraphQLSchema.getQueryType() && field.name === 'rateLimit' && args.dryRun === true)
        result.dryRun = true;
      const type = getNamedType(field.type);
      let childMultiplier = multiplier;
      if (isConnection(field)) {
        const first = typeof args.first === 'number' ? args.first : undefined;
        const last = typeof args.last === 'number' ? args.last : undefined;
        const where = selection.loc
          ? [getLocation(selection.loc.source, selection.loc.start)].map(({ line, column }) => ({
              line,
              column,
            }))
          : undefined;
        const error = (type: string, message: string) =>
          result.errors.push({ type, path: [...path, key], ...(where ? { locations: where } : {}), message });
        const keys = keysOf(selection.selectionSet);
        if (first === undefined && last === undefined && (keys.has('nodes') || keys.has('edges'))) {
          error(
            'MISSING_PAGINATION_BOUNDARIES',
            `You must provide a \`first\` or \`last\` value to properly paginate the \`${field.name}\` connection.`,
          );
        }
        for (const [name, value] of [
          ['first', first],
          ['last', last],
        ] as const) {
          if (value !== undefined && value > PAGE_LIMIT) {
            error(
              'EXCESSIVE_PAGINATION',
              `Requesting ${value} records on the \`${field.name}\` connection exceeds the \`${name}\` limit of ${PAGE_LIMIT} records.`,
            );
          }
        }
        const page = Math.max(0, first ?? 0, last ?? 0);
        result.requests += multiplier;
        result.nodeCount += multiplier * page;
        childMultiplier = multiplier * page;
      }
      if (selection.selectionSet && isCompositeType(type))
        walk(selection.selectionSet, type, childMultiplier, [...path, key]);
    }
  };
  const root = githubGraphQLSchema.getRootType(operation.operation);
  if (root) walk(operation.selectionSet, root, 1, []);
  if (result.errors.length === 0 && result.nodeCount > NODE_LIMIT) {
    result.errors.push({
      type: 'MAX_NODE_LIMIT_EXCEEDED',
      message: `This query requests up to ${result.nodeCount.toLocaleString('en-US')} possible nodes which exceeds the maximum limit of ${NODE_LIMIT.toLocaleString('en-US')}.`,
    });
  }
  return result;
}

/** Points for `requests` connection requests: divided by 100, rounded, at least 1 (GitHub's documented formula). */
export function pointsFor(requests: number): number {
  return Math.max(1, Math.round(requests / 100));
}

// ---------- views: the double's records in the shape of GitHub's objects ----------

interface Context {
  backend: GraphQLBackend;
  cost: number;
  nodeCount: number;
}

const nodeId = (text: string) => Buffer.from(text).toString('base64');
const orNull = (text: string | null | undefined) => (text ? text : null);
const SHA = /^[0-9a-f]{40}$/;
// A ref that reads like a release is a tag; anything else the repository has a sha for is a branch.
const TAG_LIKE = /^v?\d+(\.\d+)*([-+.].*)?$/;

function actorView(login: string, backend: GraphQLBackend) {
  const id = backend.actorId(login);
  if (login.endsWith('[bot]')) {
    // GraphQL names a bot by its app slug, without the `[bot]` that REST shows.
    const slug = login.slice(0, -'[bot]'.length);
    return {
      __typename: 'Bot',
      id: nodeId(`03:Bot${id}`),
      databaseId: id,
      login: slug,
      avatarUrl: ({ size }: { size?: number }) =>
        `https://avatars.githubusercontent.com/in/${id}?${size ? `s=${size}&` : ''}v=4`,
      resourcePath: `/apps/${slug}`,
      url: `${backend.webUrl}/apps/${slug}`,
    };
  }
  return {
    __typename: 'User',
    id: nodeId(`04:User${id}`),
    databaseId: id,
    login,
    name: null,
    avatarUrl: ({ size }: { size?: number }) =>
      `https://avatars.githubusercontent.com/u/${id}?${size ? `s=${size}&` : ''}v=4`,
    resourcePath: `/${login}`,
    url: `${backend.webUrl}/${login}`,
  };
}

function ownerView(login: string, backend: GraphQLBackend) {
  const id = backend.actorId(login);
  return {
    __typename: 'Organization',
    id: nodeId(`012:Organization${id}`),
    databaseId: id,
    login,
    name: login,
    avatarUrl: ({ size }: { size?: number }) =>
      `https://avatars.githubusercontent.com/u/${id}?${size ? `s=${size}&` : ''}v=4`,
    resourcePath: `/${login}`,
    url: `${backend.webUrl}/${login}`,
  };
}

const encodeCursor = (id: number) => Buffer.from(`cursor:v2:${id}`).toString('base64');
function decodeCursor(cursor: string): number {
  const match = /^cursor:v2:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (!match)
    throw new FieldError('INVALID_CURSOR_ARGUMENTS', `\`${cursor}\` does not appear to be a valid cursor.`);
  return Number(match[1]);
}

interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** Relay's pagination algorithm over `items` (in connection order), cursors keyed on record ids. */
function connection<T extends { id: number }, V>(items: T[], args: PageArgs, view: (item: T) => V) {
  const indexOf = (cursor: string) => {
    const id = decodeCursor(cursor);
    const index = items.findIndex((item) => item.id === id);
    if (index < 0)
      throw new FieldError('INVALID_CURSOR_ARGUMENTS', `\`${cursor}\` does not appear to be a valid cursor.`);
    return index;
  };
  let start = args.after ? indexOf(args.after) + 1 : 0;
  let end = args.before ? indexOf(args.before) : items.length;
  if (typeof args.first === 'number') end = Math.min(end, start + Math.max(0, args.first));
  if (typeof args.last === 'number') start = Math.max(start, end - Math.max(0, args.last));
  const slice = items.slice(start, Math.max(start, end));
  const edges = slice.map((item) => ({ cursor: encodeCursor(item.id), node: view(item) }));
  return {
    edges,
    nodes: edges.map((edge) => edge.node),
    totalCount: items.length,
    pageInfo: {
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
      hasPreviousPage: start > 0,
      hasNextPage: end < items.length,
    },
  };
}

const DEPLOYMENT_STATE: Record<string, string> = {
  success: 'ACTIVE',
  error: 'ERROR',
  failure: 'FAILURE',
  inactive: 'INACTIVE',
  in_progress: 'IN_PROGRESS',
  pending: 'PENDING',
  queued: 'QUEUED',
  waiting: 'WAITING',
};

function refView(repo: RepoRecord, ref: string, sha: string, backend: GraphQLBackend) {
  const explicit = /^refs\/(heads|tags)\//.exec(ref)?.[0];
  const name = ref.replace(/^refs\/(heads|tags)\//, '');
  const isBranch = name === repo.defaultBranch || (repo.refs.has(name) && !TAG_LIKE.test(name));
  const prefix = explicit ?? (isBranch ? 'refs/heads/' : 'refs/tags/');
  return {
    id: nodeId(`03:Ref${repo.id}:${prefix}${name}`),
    name,
    prefix,
    repository: () => repositoryView(repo, backend),
    target: () => commitView(repo, sha, backend),
  };
}

function commitView(repo: RepoRecord, sha: string, backend: GraphQLBackend) {
  return {
    __typename: 'Commit',
    id: nodeId(`06:Commit${repo.id}:${sha}`),
    oid: sha,
    abbreviatedOid: sha.slice(0, 7),
    message: `commit ${sha.slice(0, 7)}`,
    commitResourcePath: `/${repo.fullName}/commit/${sha}`,
    commitUrl: `${backend.webUrl}/${repo.fullName}/commit/${sha}`,
    repository: () => repositoryView(repo, backend),
  };
}

function statusView(
  repo: RepoRecord,
  deployment: DeploymentRecord,
  status: StatusRecord,
  backend: GraphQLBackend,
) {
  return {
    id: nodeId(`016:DeploymentStatus${status.id}`),
    state: status.state.toUpperCase(),
    description: orNull(status.description),
    environment: deployment.environment,
    environmentUrl: orNull(status.environmentUrl),
    logUrl: orNull(status.logUrl || status.targetUrl),
    createdAt: status.createdAt,
    updatedAt: status.createdAt,
    creator: () => actorView(status.creator, backend),
    deployment: () => deploymentView(repo, deployment, backend),
  };
}

function deploymentView(repo: RepoRecord, deployment: DeploymentRecord, backend: GraphQLBackend) {
  const latest = deployment.statuses.at(-1);
  return {
    id: nodeId(`010:Deployment${deployment.id}`),
    databaseId: deployment.id,
    environment: deployment.environment,
    originalEnvironment: deployment.environment,
    latestEnvironment: deployment.environment,
    commitOid: deployment.sha,
    task: deployment.task,
    description: deployment.description,
    payload: JSON.stringify(deployment.payload ?? {}),
    createdAt: deployment.createdAt,
    updatedAt: deployment.updatedAt,
    // A deployment made from a bare commit has no ref object in GraphQL.
    ref: () => (SHA.test(deployment.ref) ? null : refView(repo, deployment.ref, deployment.sha, backend)),
    creator: () => actorView(deployment.creator, backend),
    state: latest ? (DEPLOYMENT_STATE[latest.state] ?? 'PENDING') : 'PENDING',
    latestStatus: () => (latest ? statusView(repo, deployment, latest, backend) : null),
    // Oldest first, like the records.
    statuses: (args: PageArgs) =>
      connection(deployment.statuses, args, (status) => statusView(repo, deployment, status, backend)),
    repository: () => repositoryView(repo, backend),
  };
}

interface DeploymentsArgs extends PageArgs {
  environments?: string[] | null;
  orderBy: { field: 'CREATED_AT'; direction: 'ASC' | 'DESC' };
}

function repositoryView(repo: RepoRecord, backend: GraphQLBackend) {
  return {
    id: nodeId(`010:Repository${repo.id}`),
    databaseId: repo.id,
    name: repo.name,
    nameWithOwner: repo.fullName,
    isPrivate: repo.private,
    owner: () => ownerView(repo.owner, backend),
    resourcePath: `/${repo.fullName}`,
    url: `${backend.webUrl}/${repo.fullName}`,
    defaultBranchRef: () => {
      const sha = repo.refs.get(repo.defaultBranch);
      return sha ? refView(repo, `refs/heads/${repo.defaultBranch}`, sha, backend) : null;
    },
    deployments: (args: DeploymentsArgs) => {
      const environments = args.environments ?? undefined;
      const sign = args.orderBy.direction === 'DESC' ? -1 : 1;
      const found = repo.deployments
        .filter((deployment) => !environments || environments.includes(deployment.environment))
        .sort((a, b) => sign * (a.createdAt.localeCompare(b.createdAt) || a.id - b.id));
      return connection(found, args, (deployment) => deploymentView(repo, deployment, backend));
    },
  };
}

const rootValue = {
  repository: (args: { owner: string; name: string }, context: Context) => {
    const repo = context.backend.repository(args.owner, args.name);
    if (!repo)
      throw new FieldError(
        'NOT_FOUND',
        `Could not resolve to a Repository with the name '${args.owner}/${args.name}'.`,
      );
    return repositoryView(repo, context.backend);
  },
  rateLimit: (_args: unknown, context: Context) => {
    const { window } = context.backend;
    return {
      cost: context.cost,
      limit: window.limit,
      nodeCount: context.nodeCount,
      remaining: Math.max(0, window.limit - window.used),
      used: Math.min(window.used, window.limit),
      resetAt: (window.resetAt ?? new Date(context.backend.now().getTime() + HOUR))
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    };
  },
  viewer: (_args: unknown, context: Context) => actorView(context.backend.viewer, context.backend),
};

// ---------- the endpoint ----------

const ok = (body: unknown, backend: GraphQLBackend): GraphQLHttpAnswer => ({
  status: 200,
  body,
  headers: graphqlRateHeaders(backend.window, backend.now()),
});

// Parsing and validating a 50-alias query takes tens of milliseconds, and a client sends the same text for
// every batch, so the outcome is kept per query text (bounded, oldest dropped first).
const checkedDocuments = new Map<string, { document: DocumentNode } | { errors: GitHubGraphQLError[] }>();
const CHECKED_DOCUMENTS_KEPT = 200;

function checkDocument(query: string): { document: DocumentNode } | { errors: GitHubGraphQLError[] } {
  const known = checkedDocuments.get(query);
  if (known) return known;
  let outcome: { document: DocumentNode } | { errors: GitHubGraphQLError[] };
  try {
    const document = parse(query);
    const invalid = validate(githubGraphQLSchema, document);
    if (invalid.length > 0) {
      const paths = validationPaths(document);
      outcome = { errors: invalid.map((error) => validationError(error, paths)) };
    } else outcome = { document };
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    outcome = { errors: [parseError(error, query)] };
  }
  if (checkedDocuments.size >= CHECKED_DOCUMENTS_KEPT) {
    const oldest = checkedDocuments.keys().next();
    if (!oldest.done) checkedDocuments.delete(oldest.value);
  }
  checkedDocuments.set(query, outcome);
  return outcome;
}

/**
 * Answers one authenticated POST /graphql as GitHub does: checks the body, parses, validates, checks
 * pagination and the node limit, charges the points, then runs the query. Every step's failure is HTTP 200
 * with `errors` (GitHub's habit), except a body that is not JSON (400).
 *
 * @example
 * const answer = await answerGraphQL({ query: '{ viewer { login } }' }, backend);
 * answer.body // { data: { viewer: { login: 'millwright-bot' } } }
 */
export async function answerGraphQL(body: unknown, backend: GraphQLBackend): Promise<GraphQLHttpAnswer> {
  rollWindow(backend.window, backend.now());
  // Used up: GitHub refuses before looking at the query.
  if (backend.window.used >= backend.window.limit) return graphqlRateLimitedAnswer(backend);

  const request = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof request.query !== 'string' || request.query.trim() === '') {
    return ok(
      { errors: [{ message: 'A query attribute must be specified and must be a string.' }] },
      backend,
    );
  }
  const variables =
    request.variables !== null && typeof request.variables === 'object'
      ? (request.variables as Record<string, unknown>)
      : {};
  const operationName = typeof request.operationName === 'string' ? request.operationName : undefined;

  const checked = checkDocument(request.query);
  if ('errors' in checked) return ok({ errors: checked.errors }, backend);
  const { document } = checked;
  const operation = getOperationAST(document, operationName);
  if (!operation) {
    const message = operationName ? `No operation named "${operationName}"` : 'An operation name is required';
    return ok({ errors: [{ message }] }, backend);
  }
  const coerced = getVariableValues(githubGraphQLSchema, operation.variableDefinitions ?? [], variables);
  if (coerced.errors) {
    return ok({ errors: coerced.errors.map((error) => variableError(error, operation, variables)) }, backend);
  }
  const analysis = analyse(document, operation, coerced.coerced);
  if (analysis.errors.length > 0) return ok({ errors: analysis.errors }, backend);

  const cost = pointsFor(analysis.requests);
  // Short of points for this query: refused, even though the window is not at 0 (octokit/plugin-throttling#636).
  if (backend.window.limit - backend.window.used < cost) return graphqlRateLimitedAnswer(backend);
  if (!analysis.dryRun) backend.window.used += cost;

  const context: Context = { backend, cost, nodeCount: analysis.nodeCount };
  const result = await execute({
    schema: githubGraphQLSchema,
    document,
    rootValue,
    contextValue: context,
    variableValues: variables,
    ...(operationName ? { operationName } : {}),
  });
  return ok(
    {
      data: result.data ?? null,
      ...(result.errors?.length ? { errors: result.errors.map(executionError) } : {}),
    },
    backend,
  );
}

/** Non-POST methods on the GraphQL path: GitHub serves GraphQL over POST only. */
export function graphqlNotFound(backend: GraphQLBackend): GraphQLHttpAnswer {
  return {
    status: 404,
    body: { message: 'Not Found', documentation_url: DOCS },
    headers: graphqlRateHeaders(backend.window, backend.now()),
  };
}

export const GRAPHQL_DOCS = DOCS;
