// A Node test-runner reporter that writes the run's final counts to the file named by
// KMCP_TEST_SUMMARY_FILE (JSON), so scripts/test.mjs and .ci/run can print one closing line
// ("tests: N passed, N failed, N skipped") over every layer, whatever ran after the tests.
import {writeFileSync} from 'node:fs'

export default async function* summaryReporter(source) {
  for await (const event of source) {
    // The run-wide summary is the one without a file (per-file summaries name theirs).
    if (event.type !== 'test:summary' || event.data.file !== undefined) continue
    const {passed, failed, skipped, todo, cancelled} = event.data.counts
    const file = process.env.KMCP_TEST_SUMMARY_FILE
    if (file) writeFileSync(file, JSON.stringify({passed, failed: failed + cancelled, skipped: skipped + todo}) + '\n')
  }
  yield ''
}
