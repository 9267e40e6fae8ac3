/** Automation in the user agent (HTTP libraries, headless browsers, crawlers), or no user agent at all. */
import type { Contribution, RiskFacts } from '../types.ts';
import { isAutomationAgent, userAgentFamily } from '../user-agent.ts';

export function userAgentRule(facts: RiskFacts): Contribution[] {
  const ua = facts.context.userAgent?.trim();
  if (!ua) return [{ signal: 'user-agent', points: facts.weights.missingUserAgent, code: 'missing_user_agent', details: {} }];
  if (!isAutomationAgent(ua)) return [];
  return [{ signal: 'user-agent', points: facts.weights.automationAgent, code: 'automation_agent', details: { family: userAgentFamily(ua), userAgent: ua.slice(0, 200) } }];
}
