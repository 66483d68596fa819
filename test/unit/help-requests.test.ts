import {test} from 'node:test'
import assert from 'node:assert/strict'
import {helpKey, helpRequests, snapshotHelp} from '../../src/lib/cli/help-requests.ts'

test('help requests: the root, each command by spaced and colon id with --help before or after, each topic', () => {
  const requests = helpRequests(['serve', 'secrets:create'], ['secrets']).map((argv) => argv.join(' '))
  assert.deepEqual(requests, [
    '',
    '--help',
    'serve --help',
    '--help serve',
    'secrets create --help',
    '--help secrets create',
    'secrets:create --help',
    '--help secrets:create',
    'secrets',
    'secrets --help',
    '--help secrets',
  ])
})

test('the snapshot answers only an exact request, through a pipe, without OCLIF_COLUMNS, FORCE_COLOR or DEBUG, not on WSL', () => {
  const snapshot = {[helpKey(['--help'])]: 'root help\n', [helpKey([])]: 'root help\n'}
  const notWsl = () => false
  assert.equal(snapshotHelp(['--help'], snapshot, false, {}, notWsl), 'root help\n')
  assert.equal(snapshotHelp([], snapshot, false, {HOME: '/root', COLORTERM: 'truecolor'}, notWsl), 'root help\n')
  assert.equal(snapshotHelp(['--help'], snapshot, true, {}, notWsl), undefined, 'a terminal: oclif wraps to its width')
  for (const name of ['OCLIF_COLUMNS', 'FORCE_COLOR', 'DEBUG']) assert.equal(snapshotHelp(['--help'], snapshot, false, {[name]: ''}, notWsl), undefined, name)
  assert.equal(snapshotHelp(['--help', '--help'], snapshot, false, {}, notWsl), undefined)
  assert.equal(snapshotHelp(['-h'], snapshot, false, {}, notWsl), undefined)
  assert.equal(snapshotHelp(['--help'], undefined, false, {}, notWsl), undefined, 'from the sources there is no snapshot')
  assert.equal(snapshotHelp(['--help'], snapshot, false, {}, () => true), undefined, 'on WSL oclif names the platform wsl')
})
