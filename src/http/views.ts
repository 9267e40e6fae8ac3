/** Server-rendered pages from /views (eta). Output is HTML-escaped by default (`<%= %>`). */
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

export const viewsFolder = fileURLToPath(new URL('../../views', import.meta.url));

export interface PageData {
  readonly title: string;
  readonly [key: string]: unknown;
}

export type Renderer = (view: string, data: PageData) => string;

export function createRenderer(options: { cache: boolean }): Renderer {
  const eta = new Eta({ views: viewsFolder, cache: options.cache, autoEscape: true, autoTrim: false });
  return (view, data) => eta.render(view, data);
}
