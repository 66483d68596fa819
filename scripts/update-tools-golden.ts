// Rewrites test/safety/tools-list.golden.json from the current sources, after an intended change of
// a tool's name, description, annotations or schemas:  node scripts/update-tools-golden.ts
// (KMCP_UPDATE_GOLDEN=1 npm test -- test/safety/golden.test.ts does the same.) Review the diff.
import {writeFileSync} from 'node:fs'
import {GOLDEN_FILE, currentToolsList} from '../test/safety/tools-list-golden.ts'

writeFileSync(GOLDEN_FILE, await currentToolsList())
console.error(`wrote ${GOLDEN_FILE}`)
