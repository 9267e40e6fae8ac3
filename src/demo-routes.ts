/** The landing pages of the demo client: they show the authorization response so a person can finish by hand. */
import { Router } from 'express';
import { z } from 'zod';
import type { Renderer } from './http/views.ts';

const callbackQuery = z.object({
  code: z.string().max(2000).optional(),
  state: z.string().max(500).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
  iss: z.string().max(2000).optional(),
});

export function demoRoutes(render: Renderer): Router {
  const router = Router();
  router.get('/callback', (req, res) => {
    const q = callbackQuery.safeParse(req.query);
    const data = q.success ? q.data : {};
    res.type('html').send(render('demo-callback', { title: 'Demo sign-in', ...data }));
  });
  router.get('/signed-out', (_req, res) => {
    res.type('html').send(render('logged-out', { title: 'Signed out', clientName: 'the demo app' }));
  });
  return router;
}
