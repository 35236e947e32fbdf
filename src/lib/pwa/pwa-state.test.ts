import { describe, expect, it, vi } from 'vitest';
import { PwaState, type PwaDeps, type RegisterCallbacks, type StoredReport } from './pwa-state.svelte';

function fakeDeps(stored: StoredReport) {
  let callbacks: RegisterCallbacks | null = null;
  let onOnline: ((online: boolean) => void) | null = null;
  let onController: (() => void) | null = null;
  const updateSW = vi.fn(async () => undefined);
  const reload = vi.fn();
  const report = { ...stored };
  const deps: PwaDeps = {
    supported: true,
    register: (cb) => {
      callbacks = cb;
      return updateSW;
    },
    checkStored: async () => ({ ...report }),
    online: () => true,
    watch: (a, b) => {
      onOnline = a;
      onController = b;
      return () => undefined;
    },
    reload,
  };
  return {
    deps,
    updateSW,
    reload,
    report,
    sw: () => callbacks!,
    goOffline: () => onOnline!(false),
    controllerChange: () => onController!(),
  };
}

const ready: StoredReport = { registered: true, controlled: true, app: true, referenceModel: true };
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('PwaState: an update never takes over during a run', () => {
  it('offers a waiting version and applies it at once when nothing runs', async () => {
    const f = fakeDeps(ready);
    const pwa = new PwaState(f.deps);
    pwa.start();
    expect(pwa.updateState).toBe('none');
    f.sw().onNeedRefresh();
    expect(pwa.updateState).toBe('offered');
    pwa.acceptUpdate();
    await settle();
    expect(f.updateSW).toHaveBeenCalledTimes(1);
    expect(pwa.updateState).toBe('applying');
    f.controllerChange();
    expect(f.reload).toHaveBeenCalledTimes(1);
    f.sw().onNeedReload();
    expect(f.reload).toHaveBeenCalledTimes(1);
  });

  it('holds an accepted update until the run ends', async () => {
    const f = fakeDeps(ready);
    const pwa = new PwaState(f.deps);
    pwa.start();
    pwa.hold('run', true);
    f.sw().onNeedRefresh();
    expect(pwa.updateState).toBe('held');
    pwa.acceptUpdate();
    await settle();
    expect(pwa.updateState).toBe('deferred');
    expect(f.updateSW).not.toHaveBeenCalled();
    pwa.hold('run', true);
    expect(f.updateSW).not.toHaveBeenCalled();
    pwa.hold('run', false);
    await settle();
    expect(f.updateSW).toHaveBeenCalledTimes(1);
  });

  it('never applies an update nobody accepted, even when the run ends', async () => {
    const f = fakeDeps(ready);
    const pwa = new PwaState(f.deps);
    pwa.start();
    pwa.hold('run', true);
    f.sw().onNeedRefresh();
    pwa.hold('run', false);
    await settle();
    expect(f.updateSW).not.toHaveBeenCalled();
    expect(pwa.updateState).toBe('offered');
  });

  it('a version let in by another tab reloads this page only after its run', () => {
    const f = fakeDeps(ready);
    const pwa = new PwaState(f.deps);
    pwa.start();
    f.sw().onNeedRefresh();
    pwa.hold('run', true);
    f.controllerChange();
    expect(f.reload).not.toHaveBeenCalled();
    expect(pwa.updateState).toBe('reload-pending');
    pwa.hold('run', false);
    expect(f.reload).toHaveBeenCalledTimes(1);
  });

  it('the first control of a first visit is no reason to reload', () => {
    const f = fakeDeps({ ...ready, controlled: false });
    const pwa = new PwaState(f.deps);
    pwa.start();
    f.controllerChange();
    expect(f.reload).not.toHaveBeenCalled();
  });
});

describe('PwaState: what is stored', () => {
  it('tells storing, ready, and a stored copy that the browser cleared', async () => {
    const f = fakeDeps({ registered: true, controlled: false, app: false, referenceModel: false });
    const pwa = new PwaState(f.deps);
    pwa.start();
    await settle();
    expect(pwa.readiness).toBe('storing');
    Object.assign(f.report, ready);
    f.sw().onOfflineReady();
    await settle();
    expect(pwa.readiness).toBe('ready');
    // The browser evicts the site: registration, caches and control all gone.
    Object.assign(f.report, { registered: false, controlled: false, app: false, referenceModel: false });
    f.goOffline();
    await settle();
    expect(pwa.online).toBe(false);
    expect(pwa.readiness).toBe('cleared');
  });

  it('says unsupported without service workers and never registers', () => {
    const f = fakeDeps(ready);
    const register = vi.fn(f.deps.register);
    const pwa = new PwaState({ ...f.deps, supported: false, register });
    pwa.start();
    expect(pwa.readiness).toBe('unsupported');
    expect(register).not.toHaveBeenCalled();
  });
});
