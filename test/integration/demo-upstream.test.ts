import { once } from "node:events";
import { connect } from "node:http2";
import { describe, expect, it } from "vitest";
import { DemoUpstream } from "../../src/demo/demo-upstream.js";

/** Issue 12: DemoUpstream.close() hung while a client held an HTTP/2 session open. */
describe("DemoUpstream.close()", () => {
  it("ends while a client holds an HTTP/2 session open that never sent a request", async () => {
    const demo = await new DemoUpstream().start();
    const session = connect(demo.origin, { ca: demo.ca });
    session.on("error", () => {});
    await once(session, "connect");

    const outcome = await Promise.race([
      demo.close().then(() => "closed"),
      new Promise((resolve) => setTimeout(resolve, 5_000, "still open after 5 s")),
    ]);

    expect(outcome).toBe("closed");
    session.destroy();
  });
});
