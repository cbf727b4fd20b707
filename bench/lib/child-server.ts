import { spawn } from "node:child_process";

/** A server the bench runs as a Node child process of its own, so that its CPU is its own. */
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
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${output}`)), 30_000);
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`${entry} exited with ${code}:\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
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
