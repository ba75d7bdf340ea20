/**
 * Keeps the process alive when a promise rejects and nobody observes it, which Node ends the
 * process for by default: one stray rejection (a bot's host callback, a driver's late error) must
 * not take every tenant's API or a runner down (issue 11, item 1). The rejection is logged. An
 * uncaught exception still ends the process: its state may be broken.
 */
export function keepAliveOnUnhandledRejection(log: (message: string) => void): void {
  process.on('unhandledRejection', (reason) => {
    const what = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
    log(`unhandled promise rejection (the process goes on): ${what.slice(0, 500)}`);
  });
}
