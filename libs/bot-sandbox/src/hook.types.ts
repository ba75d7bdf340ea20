/** The hooks a bot class may define (DESIGN §6); snake_case aliases are accepted. */
export type HookName = 'init' | 'join' | 'message' | 'private_message';

/** Everything one hook call needs: the function (code, params, state, event) → effects. */
export interface HookRequest {
  /**
   * Hooks with the same key reuse one warm isolate, one at a time: give each bot its own key
   * (tenant, channel, bot), so no bot ever waits behind, or shares a heap with, another.
   */
  readonly isolationKey: string;
  readonly code: string;
  readonly params: Record<string, unknown>;
  readonly state: Record<string, unknown>;
  readonly channelId: string;
  readonly botId: string;
  readonly hook: HookName;
  /** JSON arguments of the hook, e.g. `[member]` for join, `[member, msg]` for a private message. */
  readonly args: readonly unknown[];
  /** Milliseconds since the epoch that `ctx.now()` answers. */
  readonly now: number;
  /** Hosts `ctx.fetch` may reach (the manifest's `egress`: exact hosts or `*.domain`). */
  readonly egress: readonly string[];
  /** The bot's scratch directory behind `ctx.workspace`; absent or null: it has none. */
  readonly workspace?: string | null;
  /**
   * The CPU time this hook's isolate may use, ms (what is left of its tenant's budget); past it
   * the hook is stopped. Absent: only the sandbox's own limits apply.
   */
  readonly cpuLimitMs?: number | undefined;
}

export interface PostEffect {
  readonly kind: string;
  readonly body: Record<string, unknown>;
  /** Set for `ctx.dm`: only this slot sees the message. */
  readonly to_slot: string | null;
}

export interface HookEffects {
  readonly posts: readonly PostEffect[];
  /** The new state; undefined when the hook never called `setState`. */
  readonly state?: Record<string, unknown> | undefined;
  readonly logs: readonly string[];
}

/**
 * What came of one hook. `cpuMs`, when the sandbox measured it, is the CPU time the hook cost:
 * the isolate's and the host's in its callbacks.
 */
export type HookOutcome =
  | { readonly ok: true; readonly effects: HookEffects; readonly cpuMs?: number }
  | {
      readonly ok: false;
      readonly error: string;
      readonly cpuMs?: number;
      /** Stopped at the request's `cpuLimitMs`, not at a limit of the sandbox's own. */
      readonly cpuLimitReached?: boolean;
    };

export interface SandboxLimits {
  /** V8 heap limit of the isolate, MiB. */
  readonly memoryMb: number;
  /** Wall time for module evaluation, constructor and hook together, ms. */
  readonly timeoutMs: number;
  /** Total serialised size of posts and state one hook may produce, bytes. */
  readonly maxOutputBytes: number;
  /** Size of a bot's workspace, bytes (0 or absent: bots have no workspace). */
  readonly workspaceBytes?: number;
}
