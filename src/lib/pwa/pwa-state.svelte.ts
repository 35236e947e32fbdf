/**
 * Offline readiness and app updates, as page state (Svelte 5 runes).
 *
 * Owns: whether the browser is online, what the service worker has stored for offline use (the
 * app shell and the reference model), and a new version waiting to take over. The components
 * `OfflineStatus` and `UpdateBanner` only render it.
 *
 * Invariant: a new version never takes over while something holds the page (a run in progress,
 * see `hold`). Accepting an update during a run defers it until the run ends; a version that
 * another tab let in reloads this page only once nothing holds it.
 *
 * The service worker itself is reached through `PwaDeps` (the real ones are in `register.ts`),
 * so this class is tested without one.
 */

export interface StoredReport {
  /** A service worker is registered for this page (installed or installing). */
  registered: boolean;
  /** This page is controlled by the service worker (it was stored before this load). */
  controlled: boolean;
  /** The app shell is in the precache. */
  app: boolean;
  /** The reference engine's model files are in the models cache. */
  referenceModel: boolean;
}

export interface RegisterCallbacks {
  onNeedRefresh(): void;
  onOfflineReady(): void;
  onNeedReload(): void;
  onRegisterError(error: unknown): void;
}

export interface PwaDeps {
  /** False where the browser has no service workers (or is not a secure context). */
  supported: boolean;
  /** Register the service worker; the returned function lets the waiting version take over. */
  register(callbacks: RegisterCallbacks): (reloadPage?: boolean) => Promise<void>;
  checkStored(): Promise<StoredReport>;
  online(): boolean;
  /**
   * Subscribe to online/offline changes and to a new service worker taking control of the page;
   * returns the unsubscribe.
   */
  watch(onOnline: (online: boolean) => void, onControllerChange: () => void): () => void;
  reload(): void;
}

/** What offline-status says, by case. */
export type OfflineReadiness =
  /** Still reading what is stored. */
  | 'checking'
  /** No service worker here: nothing is kept for offline use. */
  | 'unsupported'
  /** The browser refused to register the service worker (e.g. an untrusted certificate). */
  | 'refused'
  /** The service worker has not finished storing the app and the reference model yet. */
  | 'storing'
  /** The app shell and the reference model are stored. */
  | 'ready'
  /** The app shell is stored, the reference model is not (this host may not serve it). */
  | 'app-only'
  /** It was stored (this page is controlled) but the stored copy is gone: the browser cleared storage. */
  | 'cleared';

export type UpdateState = 'none' | 'offered' | 'held' | 'deferred' | 'applying' | 'reload-pending';

export class PwaState {
  online = $state(true);
  stored = $state<StoredReport | null>(null);
  registerError = $state<string | null>(null);
  /** A new version is installed and waiting. */
  needRefresh = $state(false);
  /** The person accepted the update; it is applied when nothing holds the page. */
  updateRequested = $state(false);
  applying = $state(false);
  /** Another tab let a new version in; this page reloads when nothing holds it. */
  reloadPending = $state(false);
  dismissed = $state(false);
  private holds = $state<Record<string, boolean>>({});
  private updateSW: ((reloadPage?: boolean) => Promise<void>) | null = null;
  private stopWatching: (() => void) | null = null;
  private started = false;
  private reloading = false;
  /** This page has seen the stored copy: if it disappears later, the browser cleared it. */
  private wasStored = false;

  constructor(private readonly deps: PwaDeps) {
    this.online = deps.online();
  }

  /** True while a run (or another hold) is in progress. */
  get held(): boolean {
    return Object.values(this.holds).some(Boolean);
  }

  get readiness(): OfflineReadiness {
    if (!this.deps.supported) return 'unsupported';
    const s = this.stored;
    if (!s) return 'checking';
    if (s.app && s.referenceModel) return 'ready';
    if (this.registerError && !s.registered) return 'refused';
    if (!s.app && (s.controlled || this.wasStored)) return 'cleared';
    if (s.app && s.controlled) return 'app-only';
    return 'storing';
  }

  get updateState(): UpdateState {
    if (this.reloadPending) return 'reload-pending';
    if (!this.needRefresh) return 'none';
    if (this.applying) return 'applying';
    if (this.updateRequested) return 'deferred';
    return this.held ? 'held' : 'offered';
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopWatching = this.deps.watch(
      (online) => {
        this.online = online;
        void this.refresh();
      },
      () => {
        void this.refresh();
        // The version that was waiting took over (here or in another tab). The first control of
        // a first visit (nothing was waiting) is no reason to reload.
        if (this.needRefresh) this.needReload();
      },
    );
    if (this.deps.supported) {
      try {
        this.updateSW = this.deps.register({
          onNeedRefresh: () => {
            this.needRefresh = true;
            this.dismissed = false;
          },
          onOfflineReady: () => void this.refresh(),
          onNeedReload: () => this.needReload(),
          onRegisterError: (error) => {
            this.registerError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
            void this.refresh();
          },
        });
      } catch (error) {
        this.registerError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
    void this.refresh();
  }

  stop(): void {
    this.stopWatching?.();
    this.stopWatching = null;
  }

  async refresh(): Promise<void> {
    if (!this.deps.supported) return;
    try {
      this.stored = await this.deps.checkStored();
      if (this.stored.app) this.wasStored = true;
    } catch {
      this.stored = { registered: false, controlled: false, app: false, referenceModel: false };
    }
  }

  /** Mark the page busy (`busy` true) or free for one reason, e.g. `hold('run', run.busy)`. */
  hold(reason: string, busy: boolean): void {
    if ((this.holds[reason] ?? false) === busy) return;
    this.holds = { ...this.holds, [reason]: busy };
    if (!this.held) this.release();
  }

  /** The person accepted the update: apply now, or as soon as the run ends. */
  acceptUpdate(): void {
    if (!this.needRefresh) return;
    this.updateRequested = true;
    if (!this.held) void this.apply();
  }

  dismiss(): void {
    this.dismissed = true;
  }

  private release(): void {
    if (this.reloadPending) {
      this.doReload();
      return;
    }
    if (this.updateRequested && this.needRefresh && !this.applying) void this.apply();
  }

  private async apply(): Promise<void> {
    if (this.held || !this.updateSW) return;
    this.applying = true;
    // The waiting worker takes over; its `controlling` event then calls onNeedReload.
    await this.updateSW(true);
  }

  private needReload(): void {
    if (this.held) {
      this.reloadPending = true;
      return;
    }
    this.doReload();
  }

  private doReload(): void {
    if (this.reloading) return;
    this.reloading = true;
    this.deps.reload();
  }
}
