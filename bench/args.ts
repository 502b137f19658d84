/** A command-line number that must be positive; anything else ends the run with exit 2, naming the flag. */
export function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!(value > 0)) {
    process.stderr.write(`${flag} must be a positive number, got "${text}"\n`);
    process.exit(2);
  }
  return value;
}
