/**
 * Runs `count` jobs with at most `concurrency` in flight, each worker taking the next index as
 * soon as its previous job settles. Results are in index order; the first failure rejects.
 */
export async function runConcurrently<T>(
  count: number,
  concurrency: number,
  job: (index: number) => Promise<T>,
): Promise<T[]> {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be >= 0, got ${count}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be >= 1, got ${concurrency}`);
  }
  const results = new Array<T>(count);
  let next = 0;
  let failed = false;
  const worker = async () => {
    // Once a job has failed, workers stop taking new ones so the error surfaces promptly.
    while (!failed && next < count) {
      const index = next++;
      try {
        results[index] = await job(index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}
