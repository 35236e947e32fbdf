/**
 * The views of the app, in the order of the job, and their hash routes.
 *
 * To add a view: write its component in this folder (it reads the page's stores with
 * `getApp()`), then add one entry here. The nav, the routes and the not-found view follow.
 * `id` is the nav item's `data-view` (TESTIDS.md) and the path after `#/`.
 *
 * A view that pulls in a large library only it uses is loaded on first visit (`wrap` with
 * `asyncComponent`, its own chunk): Compare brings Observable Plot and d3 (about 91 kB
 * compressed), which the first screen does not need. The service worker precaches that chunk
 * with the shell (vite.config.ts), so the view still opens offline.
 */
import type { Component } from 'svelte';
import { wrap, type WrappedComponent } from 'svelte-spa-router/wrap';
import ViewLoadFailedView from './ViewLoadFailedView.svelte';
import CompressView from './CompressView.svelte';
import DocumentsView from './DocumentsView.svelte';
import ModelsView from './ModelsView.svelte';
import RunsView from './RunsView.svelte';
import SendView from './SendView.svelte';
import SettingsView from './SettingsView.svelte';

export interface ViewEntry {
  id: string;
  label: string;
  /** The view's component, or a wrapped one loaded on first visit. */
  component: Component | WrappedComponent;
}

/** A view loaded on first visit; a chunk that cannot be fetched shows a plain message instead. */
function lazyView(id: string, label: string, load: () => Promise<{ default: Component }>): WrappedComponent {
  return wrap({
    asyncComponent: () =>
      load().catch(() => ({ default: ViewLoadFailedView as Component })),
    props: { view: id, label },
  });
}

export const VIEWS: ViewEntry[] = [
  { id: 'documents', label: 'Documents', component: DocumentsView },
  { id: 'compress', label: 'Compress', component: CompressView },
  { id: 'send', label: 'Send', component: SendView },
  { id: 'runs', label: 'Runs', component: RunsView },
  { id: 'compare', label: 'Compare', component: lazyView('compare', 'Compare', () => import('./CompareView.svelte')) },
  { id: 'models', label: 'Models & storage', component: ModelsView },
  { id: 'settings', label: 'Settings', component: SettingsView },
];

/** The first screen: `#/` and an empty hash show it. */
export const HOME_VIEW = 'documents';

/** The view id of a hash location (`/compress` → `compress`, `/` → the first screen), or null. */
export function viewOfLocation(location: string): string | null {
  const id = location.replace(/^\/+/, '').split('/')[0] ?? '';
  if (id === '') return HOME_VIEW;
  return VIEWS.some((v) => v.id === id) ? id : null;
}

export function hrefOf(id: string): string {
  return `#/${id}`;
}
