/**
 * The last step of every first factor (password or passkey): act on the decision. Allow finishes the
 * sign-in; step-up keeps it pending server-side and shows the step-up page; deny records why and ends the
 * interaction with `access_denied`.
 */
import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import { clientIdOf, deny, finishSignIn, renderStepUp, tenantOf, type Details, type InteractionDeps } from './kit.ts';
import type { DecidedStep } from './sign-in.ts';

export async function settle(deps: InteractionDeps, req: Request, res: Response, provider: Provider, details: Details, step: DecidedStep): Promise<void> {
  const tenant = tenantOf(req);
  const { pending } = step;
  switch (step.kind) {
    case 'allow':
      // An allowed first factor always meets its requirement; should it not, its assessment is still kept.
      if (!(await finishSignIn(deps, req, res, provider, pending, undefined)) && pending.assessment) await deps.risk?.store(pending.assessment);
      return;
    case 'step-up':
      await deps.pending.save(tenant, details.uid, pending);
      await renderStepUp(deps, res, tenant, details.uid, pending);
      return;
    case 'deny':
      deps.metrics.signIns.inc({ tenant, outcome: 'failure' });
      await deps.audit.record(tenant, {
        type: 'signin.denied',
        actor: `user:${pending.userId}`,
        subject: `user:${pending.userId}`,
        ip: req.ip ?? 'unknown',
        details: {
          method: pending.firstFactor.method,
          client: clientIdOf(details),
          assessmentId: pending.assessment?.id ?? null,
          policyRule: pending.assessment?.decision.policyRule ?? null,
        },
      });
      await deny(deps, req, res, provider, details, pending.reason);
      return;
  }
}
