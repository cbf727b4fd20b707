import { Log } from "../../src/durable/runtime/log";

/** A Log that keeps the lines an object wrote, for a test to read, instead of printing them. */
export class LogLines extends Log {
  readonly lines: Array<Record<string, unknown>> = [];

  override line(what: string, fields: Record<string, unknown>): void {
    this.lines.push({ log: what, ...fields });
  }
}
