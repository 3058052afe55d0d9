// Stopping a command together with everything it started. exec spawns each
// command as the leader of its own process group (detached: setsid), so one
// kill(-pgid) reaches its children and grandchildren too — a plain kill(pid)
// would leave `sleep 30 &` running, and holding our pipes open.

/** True while any process of the group can still receive signals. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * SIGTERM to the whole group, then SIGKILL once `graceMs` has passed with any
 * member left. Resolves when the group is gone or SIGKILL was sent.
 */
export async function killGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(50, graceMs)));
    if (!groupAlive(pgid)) return;
  }
  signalGroup(pgid, 'SIGKILL');
}

function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false; // ESRCH: nothing left
  }
}
