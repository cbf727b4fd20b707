import { spawn } from "node:child_process";

/** A server the bench runs as a process of its own, so that its CPU is its own. */
export interface ChildServer {
  url: string;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs `entry` (TypeScript, through tsx) with `env`, and waits until it
 * prints `listening <port>`.
 *
 * @example const node = await startChildServer("bench/node-server/main.ts", { TOKEN_SECRET: secret });
 */
export async function startChildServer(entry: string, env: Record<string, string> = {}): Promise<ChildServer> {
  return startProcess(process.execPath, ["--import", "tsx", entry], {
    name: entry,
    env,
    timeoutMs: 30_000,
    ready: (output) => {
      const match = /listening (\d+)/.exec(output);
      return match ? `http://127.0.0.1:${match[1]}` : null;
    },
  });
}

/**
 * Starts `command` and waits until its output (stdout and stderr) says it is
 * ready: `ready` returns its URL then, null before. Killed if the bench exits
 * first; `stop` asks it to end (SIGTERM), and kills it after 5 s.
 */
export async function startProcess(
  command: string,
  args: string[],
  options: { name: string; ready: (output: string) => string | null; env?: Record<string, string>; timeoutMs: number },
): Promise<ChildServer> {
  const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name} did not start:\n${output}`)), options.timeoutMs);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const ready = options.ready(output);
      if (ready === null) return;
      clearTimeout(timer);
      resolve(ready);
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${options.name} exited with ${code}:\n${output}`)));
  });
  return {
    url,
    pid: child.pid ?? 0,
    output: () => output,
    stop: async () => {
      process.off("exit", orphanGuard);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
