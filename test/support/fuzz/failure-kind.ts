/** What a problem line is about, so the summary can count them and a shrink can keep to one kind. */
const KINDS: [RegExp, string][] = [
  [/^the gateway exited/, "gateway crash"],
  [/a hang/, "hang"],
  [/^UNKNOWN|code "unknown"/, "UNKNOWN status"],
  [/leaks /, "stack trace or path leaked"],
  [/a valid call failed/, "valid call with odd headers failed"],
  [/^a normal Generate/, "normal call failed afterwards"],
  [/crash-like stderr/, "crash output on stderr"],
  [/logged an error/, "gateway logged an error"],
  [/^HTTP 5\d\d/, "5xx answer"],
  [/^no HTTP answer/, "closed with no answer"],
  [/no grpc-status|is no code|instead of a gRPC status/, "no valid gRPC status"],
  [/without a Connect error|no Connect code|end-stream/, "no valid Connect error"],
  [/not an OpenAI error body/, "no OpenAI error body"],
];

export function kindOf(problem: string): string {
  return KINDS.find(([pattern]) => pattern.test(problem))?.[1] ?? problem.slice(0, 40);
}
