/**
 * The Content-Security-Policy at build and preview time. The policy itself is
 * `src/lib/csp/policy.ts`; this plugin only delivers it:
 * - `vite build`: a `<meta http-equiv="Content-Security-Policy">` as the first element of the
 *   built index.html's head (so it covers every script and style sheet after it). A meta policy
 *   cannot carry `frame-ancestors`.
 * - `vite preview`: the full policy (with `frame-ancestors`) as a response header on everything
 *   it serves, workers included (a worker is governed by its own script's headers, not by the
 *   page's meta tag).
 * The dev server gets no policy: Vite's dev client injects inline styles.
 */
import type { Plugin } from 'vite';
import { cspString } from '../src/lib/csp/policy.ts';

export function contentSecurityPolicy(): Plugin {
  return {
    name: 'precis-csp',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        if (ctx.server) return [];
        return [
          {
            tag: 'meta',
            attrs: { 'http-equiv': 'Content-Security-Policy', content: cspString({ meta: true }) },
            injectTo: 'head-prepend',
          },
        ];
      },
    },
    configurePreviewServer(server) {
      const header = cspString({ meta: false });
      server.middlewares.use((_req, res, next) => {
        res.setHeader('Content-Security-Policy', header);
        next();
      });
    },
  };
}
