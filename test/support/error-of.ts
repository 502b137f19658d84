import { ConnectError } from "@connectrpc/connect";

/** The ConnectError a call fails with; fails the test when the call succeeds. */
export async function errorOf(work: Promise<unknown>): Promise<ConnectError> {
  try {
    await work;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded, but it was expected to fail");
}
