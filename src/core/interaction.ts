// The button and form flow every chat surface shares: check the signed token, rebuild the command line
// from the form, run it as the person who clicked, show early argument errors in the form, answer once.
import type { ActionPayload } from './action-token.js';
import { type Clock, systemClock } from './clock.js';
import type { ReplySink, Services, Surface } from './context.js';
import { asMillwrightError, ErrorCode, MillwrightError } from './errors.js';
import { parseLine } from './parser.js';
import type { Reply } from './reply.js';
import type { CommandRequest } from './router.js';
import { findSecretQuickly, secretRefusal } from './secret-detection.js';
import type { SpendClaim, SpentUse } from './spent-actions.js';
import { formatAbsolute } from './time.js';

/** Who clicked, as the router sees them (their groups, when the platform has them). */
export type InteractionActor = CommandRequest['actor'];

/** Typed form values by field name, or as ordered pairs. */
export type FormValues = Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]>;

/** What a surface parsed from one click or form submission. */
export interface InteractionRequest {
  surface: Surface;
  /** The channel the click came from; the token must have been signed for it. */
  channel: string;
  /** The signed action token the button or form carried. */
  token: string;
  /** The clicker, or how to look them up (only once the token checks out). */
  actor: InteractionActor | (() => Promise<InteractionActor>);
  /**
   * For a form: the values typed, or how to read them once the token checks out (the form's
   * spec may live with the surface). Throwing a MillwrightError refuses the submission.
   */
  form?: FormValues | ((payload: ActionPayload) => FormValues | Promise<FormValues>);
  /**
   * How long the platform waits for an answer. Within it, an answer can be shown in the open form
   * (`showInForm`); past it, `pending` shows an interim state and delivery runs in `later`.
   */
  answerWithinMs?: number;
}

/** The platform-specific parts of the flow: how to refuse, acknowledge, show progress and answer. */
export interface InteractionSurface {
  /** The click is refused before anything ran (bad, expired or moved token; form or card spent). */
  refuse(failure: MillwrightError): Promise<void>;
  /** Single use: claims the button before its command runs; a failure refuses the click. */
  claim?(line: string): Promise<MillwrightError | undefined>;
  /** Where progress replies of the command go. */
  sink?(line: string): ReplySink | undefined;
  /** An answer that came within the wait; true when shown in the open form (nothing more to deliver). */
  showInForm?(answer: Reply): Promise<boolean>;
  /** Answers the platform's request once the wait is over; the answer is then delivered in `later`. */
  acknowledge?(): Promise<void>;
  /** The command is still running when the wait is over: show that (the answer follows in `later`). */
  pending?(): Promise<void>;
  /**
   * Delivers the command's answer; called exactly once for a click that ran. `spent` says who used the
   * token and when: the surface then stops offering the button. Without it the router refused the
   * click before anything ran (permission, a bad value), and the button stays usable.
   */
  deliver(answer: Reply, line: string, spent?: SpentUse): Promise<void>;
  /** Runs delivery that outlives the platform's request (after `acknowledge` or `pending`); default: in line. */
  later?(work: () => Promise<void>): void;
}

/**
 * Runs one click or form submission: verify the token for the channel -> rebuild the command line
 * from the form -> spend the token's nonce (single use: a lost claim answers "already done by ...")
 * and let the surface claim its own bookkeeping -> run it as the clicker through the router (which
 * checks the clicker's permission, not the poster's) -> race early answers against the platform's
 * wait -> deliver the answer once. A click the router refused before running gives its nonce back.
 *
 * @example
 * await runInteraction(
 *   { surface: 'pager', channel: 'ops', token: body.token, actor: { id: body.user } },
 *   { services, handle: (request) => router.handle(request) },
 *   {
 *     refuse: async (failure) => pager.send(body.user, `refused: ${failure.message}`),
 *     deliver: async (answer) => pager.send('ops', replyToText(answer)),
 *   },
 * );
 */
export async function runInteraction(
  request: InteractionRequest,
  runtime: InteractionRuntime,
  surface: InteractionSurface,
): Promise<void> {
  let checked: CheckedInteraction;
  try {
    const payload = runtime.services.actions.verify(request.token, request.channel);
    const { form } = request;
    const line =
      form === undefined
        ? payload.command
        : formLine(payload.command, typeof form === 'function' ? await form(payload) : form);
    checked = { payload, line };
  } catch (error) {
    return surface.refuse(asMillwrightError(error));
  }
  return runChecked(request, runtime, surface, checked);
}

/** A click or form whose token and command line checked out: what it runs, and the token's payload. */
export interface CheckedInteraction {
  payload: ActionPayload;
  line: string;
}

/**
 * What the checks before an acknowledgement found: the interaction to run, or why it was refused. A
 * refusal with `checked` is of a value (the token was good): the command's argument check or a secret
 * typed into a field, named in the refusal's `details.field` when known; without it the token itself
 * was refused.
 */
export type InteractionCheck =
  | { ok: true; checked: CheckedInteraction }
  | { ok: false; refused: MillwrightError; checked?: CheckedInteraction };

/**
 * The checks of a form submission that take microseconds and touch no store, for a platform that must
 * be answered before anything else (Slack's view_submission): the token for the channel, the form's
 * command line, a secret typed into a field (refused beside it, never echoed), and the command's
 * arguments (parsed and resolved, not run). A refused value only secretlint could judge is left to the
 * router, which checks it fully after the answer, so it is never echoed. Run what passes
 * with `runChecked` once the request is answered; it spends the token and runs as the submitter.
 *
 * @example
 * const check = checkInteraction({ channel, token, form: values }, runtime);
 * if (!check.ok) return showInForm(check.refused);
 * await ack();
 * queue(() => runChecked({ surface: 'slack', channel, token, actor }, runtime, surface, check.checked));
 */
export function checkInteraction(
  request: { channel: string; token: string; form?: FormValues },
  runtime: InteractionRuntime,
): InteractionCheck {
  let checked: CheckedInteraction;
  try {
    const payload = runtime.services.actions.verify(request.token, request.channel);
    checked = {
      payload,
      line: request.form === undefined ? payload.command : formLine(payload.command, request.form),
    };
  } catch (error) {
    return { ok: false, refused: asMillwrightError(error) };
  }
  const { secrets } = runtime.services;
  // Fields whose value only secretlint could judge: a refusal of one of them is left to the router,
  // which checks it fully after the answer, so it is never echoed into the form.
  const unsure = new Set<string>();
  if (secrets && request.form !== undefined) {
    for (const [field, value] of isPairs(request.form) ? request.form : Object.entries(request.form)) {
      const finding = findSecretQuickly(value, secrets);
      if (finding === 'unsure') unsure.add(field);
      else if (finding) return { ok: false, refused: secretRefusal(finding, 'value', { field }), checked };
    }
  }
  const refused = argumentsRefused(runtime, checked.line);
  if (!refused) return { ok: true, checked };
  const field = refused.details?.field;
  const mayEcho = unsure.size > 0 && (typeof field !== 'string' || unsure.has(field));
  return mayEcho ? { ok: true, checked } : { ok: false, refused, checked };
}

/** What the flow needs of the runtime: tokens, spent tokens, the router (and the registry and secrets, to check a form before its answer). */
export interface InteractionRuntime {
  services: Pick<Services, 'actions' | 'spentActions'> & Partial<Pick<Services, 'registry' | 'secrets'>>;
  handle: (request: CommandRequest) => Promise<Reply>;
  /** When a token is spent; the system clock by default. */
  clock?: Clock;
}

/** The checks of a command line that take milliseconds: it parses, and its arguments fit the command. */
function argumentsRefused(runtime: InteractionRuntime, line: string): MillwrightError | undefined {
  const { registry } = runtime.services;
  if (!registry) return undefined;
  try {
    registry.resolve(parseLine(line), line, (runtime.clock ?? systemClock).now());
    return undefined;
  } catch (error) {
    const failure = asMillwrightError(error);
    return failure.code === ErrorCode.BadArgument ? failure : undefined;
  }
}

/** Spends the checked token, runs its line as the clicker and delivers the answer (once). */
export async function runChecked(
  request: Omit<InteractionRequest, 'form'>,
  runtime: InteractionRuntime,
  surface: InteractionSurface,
  { payload, line }: CheckedInteraction,
): Promise<void> {
  const { spentActions } = runtime.services;
  const actor = typeof request.actor === 'function' ? await request.actor() : request.actor;
  const use: SpentUse = { by: actor.name ?? actor.id, at: (runtime.clock ?? systemClock).now() };
  let spend: SpendClaim;
  try {
    spend = await spentActions.claim(payload.nonce, { ...use, expiresAt: new Date(payload.exp * 1000) });
  } catch (error) {
    // Without the record a second click could not be told apart: run nothing, and say why.
    return surface.refuse(asMillwrightError(error));
  }
  if (!spend.first) return surface.refuse(alreadyDone(spend));
  const claimed = await surface.claim?.(line);
  if (claimed) {
    await spentActions.release(payload.nonce);
    return surface.refuse(claimed);
  }

  const sink = surface.sink?.(line);
  const running = (async () => {
    // The clicker runs the command: the router checks their permission, not the poster's.
    const answer = await runtime.handle({
      actor,
      surface: request.surface,
      channel: request.channel,
      text: line,
      ...(sink ? { sink } : {}),
    });
    if (!refusedBeforeRunning(answer)) {
      // Best effort, and before the answer goes out: whoever reads the answer and clicks again is told
      // how this run ended, not that it still runs.
      await spentActions
        .settle?.(payload.nonce, {
          ok: answer.ok,
          ...(answer.error ? { failure: answer.error.message } : {}),
        })
        .catch(() => {});
      return { answer, spent: use };
    }
    await spentActions.release(payload.nonce);
    return { answer, spent: undefined };
  })();
  const deliver = async () => {
    const { answer, spent } = await running;
    return surface.deliver(answer, line, spent);
  };
  if (request.answerWithinMs === undefined) return deliver();

  const early = (await answerWithin(running, request.answerWithinMs))?.answer;
  if (early && (await surface.showInForm?.(early))) return;
  // Answered in time with nothing to acknowledge first: the answer is the response to the request.
  if (early && !surface.acknowledge) return deliver();
  await surface.acknowledge?.();
  if (!early) await surface.pending?.();
  if (surface.later) surface.later(deliver);
  else await deliver();
}

/**
 * Whether the router refused a click before its command did anything (the clicker may not, or a value
 * is wrong): the token is given back, so the right person or the corrected form can still use it.
 */
export function refusedBeforeRunning(answer: Reply): boolean {
  const code = answer.error?.code;
  return !answer.ok && (code === ErrorCode.PermissionDenied || code === ErrorCode.BadArgument);
}

/** The one-line refusal of a token someone already used. */
function alreadyDone(spent: Extract<SpendClaim, { first: false }>): MillwrightError {
  const when = formatAbsolute(spent.at);
  if (spent.outcome === 'running') {
    return new MillwrightError(
      ErrorCode.PermissionDenied,
      `${spent.by} started this at ${when} and it is still running; their answer follows where they clicked`,
    );
  }
  if (spent.outcome === 'failed') {
    return new MillwrightError(
      ErrorCode.PermissionDenied,
      `${spent.by} ran this at ${when} and it failed${spent.failure ? `: ${spent.failure}` : ''}`,
      { hint: 'run the command again for a fresh button once you know why' },
    );
  }
  return new MillwrightError(ErrorCode.PermissionDenied, `this was already done by ${spent.by} at ${when}`);
}

/**
 * The command line a submitted form runs: its command, then `name="value"` for each filled field.
 *
 * @example
 * formLine('runbook run scale', { replicas: '3', note: 'say "hi"' }) // 'runbook run scale replicas="3" note="say \"hi\""'
 */
export function formLine(command: string, values: FormValues): string {
  const entries = isPairs(values) ? values : Object.entries(values);
  const pairs = entries.map(([name, value]) => `${name}="${value.replace(/[\\"]/g, '\\$&')}"`);
  return [command, ...pairs].join(' ');
}

/** An argument error an open form can show next to its field: the field (if named) and the text. */
export function formError(answer: Reply): { field: string | undefined; message: string } | undefined {
  const error = answer.error;
  if (answer.ok || !error || error.code !== ErrorCode.BadArgument) return undefined;
  return { field: error.field, message: error.hint ? `${error.message} (${error.hint})` : error.message };
}

/** The promise's value if it settles within `ms`, else undefined (the work keeps running). */
export async function answerWithin<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function isPairs(values: FormValues): values is ReadonlyArray<readonly [string, string]> {
  return Array.isArray(values);
}
