import { readdirSync, readFileSync } from "node:fs";

/**
 * Resident memory (bytes) of every process below `pid` whose name is
 * `workerd`: the local runtime that `wrangler dev` starts. Linux only (/proc).
 */
export function runtimeRss(pid: number): number {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (name) state ppid ..."; the name may hold spaces, so split after the last ")".
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
      names.set(Number(entry), name);
    } catch {
      // gone meanwhile
    }
  }
  const below = (candidate: number): boolean => {
    for (let p = parents.get(candidate); p !== undefined && p > 1; p = parents.get(p)) if (p === pid) return true;
    return false;
  };
  let total = 0;
  for (const [candidate, name] of names) {
    if (name !== "workerd" || !below(candidate)) continue;
    const status = readFileSync(`/proc/${candidate}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    total += kb * 1024;
  }
  return total;
}
