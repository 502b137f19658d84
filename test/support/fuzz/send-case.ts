import type { Exchange } from "./exchange.js";
import type { FuzzCase } from "./fuzz-case.js";
import { sendHttp1 } from "./h1-exchange.js";
import { sendHttp2 } from "./h2-exchange.js";
import { sendRaw } from "./raw-exchange.js";

/** Sends one case to the gateway on `port` by the transport it names. */
export function sendCase(port: number, c: FuzzCase): Promise<Exchange> {
  if (c.kind === "raw") return sendRaw(port, c);
  return c.transport === "h1" ? sendHttp1(port, c) : sendHttp2(port, c);
}
