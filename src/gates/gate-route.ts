// The HTTP face of the pipeline gate: the bearer token, the content type, the body limit and its
// schema, then the gate's answer; every refusal is one line of JSON naming what to fix.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asMillwrightError, ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RequestContext, RouteHost } from '../core/module.js';
import { newRef } from '../core/router.js';
import { readJsonBody, sendJson } from '../server/http-server.js';
import { gateRequestSchema } from './config.js';
import type { Pipeline, PipelineGate } from './pipeline-gate.js';

export const GATE_EVALUATE_ROUTE = '/api/v1/gates/evaluate';
export const GATE_STATUS_ROUTE = '/api/v1/gates/:change';

const STATUS_OF: Partial<Record<string, number>> = {
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.BadArgument]: 400,
};

/**
 * Mounts the gate's two routes on Millwright's server.
 *
 * @example
 * mountGates(server, { gate, maxBodyBytes: 16384, logger });
 */
export function mountGates(
  routes: RouteHost,
  options: { gate: PipelineGate; maxBodyBytes: number; logger: Logger },
): void {
  const { gate, maxBodyBytes, logger } = options;

  /** The pipeline behind the request, or undefined once a 401 has been sent. */
  const pipelineOf = (
    req: IncomingMessage,
    res: ServerResponse,
    ctx: RequestContext,
  ): Pipeline | undefined => {
    const pipeline = gate.authenticate(req.headers.authorization);
    if (pipeline) return pipeline;
    const given = req.headers.authorization !== undefined;
    // Never the header itself: it is the token.
    logger.warn(
      { route: ctx.route, remote: req.socket.remoteAddress, given },
      'gate request without a valid token',
    );
    sendJson(
      res,
      401,
      {
        error: given
          ? 'unknown token: send the token of a pipeline in gates.pipelines'
          : 'missing token: send Authorization: Bearer <token of a pipeline in gates.pipelines>',
      },
      {
        'www-authenticate': given
          ? 'Bearer realm="millwright", error="invalid_token"'
          : 'Bearer realm="millwright"',
      },
    );
    return undefined;
  };

  /** A refusal the gate raised (403, 404, 400) as one line; anything else is a 500 with a reference. */
  const refuse = (res: ServerResponse, error: unknown, ref: string) => {
    const failure = asMillwrightError(error);
    const status = STATUS_OF[failure.code];
    if (status)
      return sendJson(res, status, {
        error: failure.message,
        ...(failure.hint ? { hint: failure.hint } : {}),
        ref,
      });
    logger.error({ err: error, ref }, 'gate evaluation failed');
    return sendJson(res, 500, { error: `the gate could not answer: ${failure.message}`, ref });
  };

  routes.route('POST', GATE_EVALUATE_ROUTE, async (req: IncomingMessage, res: ServerResponse, ctx) => {
    const pipeline = pipelineOf(req, res, ctx);
    if (!pipeline) return;
    const body = await readJsonBody(req, res, ctx, { maxBodyBytes });
    if (!body) return;
    const parsed = gateRequestSchema.safeParse(body.json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field =
        (issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue?.path.join('.')) || 'body';
      return sendJson(res, 400, { error: `${field}: ${issue?.message ?? 'invalid'}`, field });
    }
    const ref = newRef();
    try {
      const answer = await ctx.track(gate.evaluate(pipeline, parsed.data, ref));
      logger.info(
        {
          ref,
          pipeline: pipeline.name,
          service: answer.service,
          change: answer.changeId,
          decision: answer.decision,
        },
        'gate evaluated',
      );
      sendJson(res, 200, answer);
    } catch (error) {
      refuse(res, error, ref);
    }
  });

  routes.route('GET', GATE_STATUS_ROUTE, async (req: IncomingMessage, res: ServerResponse, ctx) => {
    const pipeline = pipelineOf(req, res, ctx);
    if (!pipeline) return;
    const ref = newRef();
    try {
      sendJson(res, 200, await gate.status(pipeline, ctx.params.change ?? '', ref));
    } catch (error) {
      refuse(res, error, ref);
    }
  });
}
